// Tests of src/image/decode.cpp (OpenCV side) and src/image/quality.cpp.
#include <filesystem>
#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/atomic_file.h"
#include "core/errors.h"
#include "image/image.h"
#include "image/quality.h"
#include "test_support.h"

using namespace pneumoscan;
namespace fs = std::filesystem;

namespace {

cv::Mat random_mat(int rows, int cols, int type, uint64_t seed) {
  cv::Mat m(rows, cols, type);
  cv::RNG rng(seed);
  rng.fill(m, cv::RNG::UNIFORM, 0, CV_MAT_DEPTH(type) == CV_16U ? 65536 : 256);
  return m;
}

double max_abs_diff(const cv::Mat& a, const cv::Mat& b) { return cv::norm(a, b, cv::NORM_INF); }

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

// Expects decode_image(path) to throw InputError whose message starts with the path and mentions `problem`.
void expect_input_error(const std::string& path, const std::string& problem) {
  try {
    decode_image(path);
    ADD_FAILURE() << "no exception for " << path;
  } catch (const InputError& e) {
    const std::string message = e.what();
    EXPECT_EQ(message.rfind(path + ": ", 0), 0u) << message;
    EXPECT_NE(message.find(problem), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  }
}

std::vector<uint8_t> bytes_of(const std::string& path) {
  const std::string s = read_file(path);
  return {s.begin(), s.end()};
}

}  // namespace

TEST(Image, Png8BitRoundTrip) {
  test::TempDir dir;
  const cv::Mat original = random_mat(23, 37, CV_8UC1, 1);
  const std::string path = dir / "gray8.png";
  ASSERT_TRUE(cv::imwrite(path, original));
  const Image image = decode_image(path);
  EXPECT_EQ(image.format, "png");
  EXPECT_EQ(image.bits_stored, 8);
  EXPECT_FALSE(image.dicom.has_value());
  ASSERT_EQ(image.pixels.type(), CV_32FC1);
  ASSERT_EQ(image.width(), 37);
  ASSERT_EQ(image.height(), 23);
  cv::Mat expected;
  original.convertTo(expected, CV_32F, 1.0 / 255.0);
  EXPECT_LT(max_abs_diff(image.pixels, expected), 1e-6);
  EXPECT_EQ(max_abs_diff(to_u8(image), original), 0.0);
}

TEST(Image, Png16BitRoundTrip) {
  test::TempDir dir;
  const cv::Mat original = random_mat(19, 41, CV_16UC1, 2);
  const std::string path = dir / "gray16.png";
  ASSERT_TRUE(cv::imwrite(path, original));
  const Image image = decode_image(path);
  EXPECT_EQ(image.bits_stored, 16);
  ASSERT_EQ(image.pixels.size(), original.size());
  cv::Mat back;
  image.pixels.convertTo(back, CV_16U, 65535.0);
  EXPECT_EQ(max_abs_diff(back, original), 0.0);
  double lo, hi;
  cv::minMaxLoc(image.pixels, &lo, &hi);
  EXPECT_GE(lo, 0.0);
  EXPECT_LE(hi, 1.0);
  EXPECT_GT(hi, 0.99);  // uses the full 16-bit range, not /255
}

TEST(Image, ColourAndAlphaBecomeGray) {
  test::TempDir dir;
  const cv::Mat bgr = random_mat(16, 24, CV_8UC3, 3);
  cv::Mat expected_u8;
  cv::cvtColor(bgr, expected_u8, cv::COLOR_BGR2GRAY);
  cv::Mat expected;
  expected_u8.convertTo(expected, CV_32F, 1.0 / 255.0);

  ASSERT_TRUE(cv::imwrite(dir / "colour.png", bgr));
  const Image colour = decode_image(dir / "colour.png");
  ASSERT_EQ(colour.pixels.channels(), 1);
  EXPECT_LT(max_abs_diff(colour.pixels, expected), 1e-6);

  cv::Mat bgra;
  cv::cvtColor(bgr, bgra, cv::COLOR_BGR2BGRA);
  bgra.forEach<cv::Vec4b>([](cv::Vec4b& p, const int*) { p[3] = 7; });  // alpha must not matter
  ASSERT_TRUE(cv::imwrite(dir / "alpha.png", bgra));
  const Image alpha = decode_image(dir / "alpha.png");
  ASSERT_EQ(alpha.pixels.channels(), 1);
  EXPECT_LT(max_abs_diff(alpha.pixels, expected), 1e-6);
}

TEST(Image, FormatComesFromContentNotExtension) {
  test::TempDir dir;
  const cv::Mat original = random_mat(8, 8, CV_8UC1, 4);
  ASSERT_TRUE(cv::imwrite(dir / "real.png", original));
  fs::rename(dir / "real.png", dir / "looks_like.jpeg");
  const Image image = decode_image(dir / "looks_like.jpeg");
  EXPECT_EQ(image.format, "png");
  EXPECT_EQ(max_abs_diff(to_u8(image), original), 0.0);
}

TEST(Image, SharedJpeg) {
  PNEUMOSCAN_REQUIRE_SHARED(path, "data/chest_xray/train/NORMAL/IM-0115-0001.jpeg");
  const Image image = decode_image(path);
  EXPECT_EQ(image.format, "jpeg");
  EXPECT_EQ(image.bits_stored, 8);
  EXPECT_EQ(image.width(), 224);
  EXPECT_EQ(image.height(), 224);
  cv::Scalar mean, stddev;
  cv::meanStdDev(image.pixels, mean, stddev);
  EXPECT_GT(mean[0], 0.2);
  EXPECT_LT(mean[0], 0.8);
  EXPECT_GT(stddev[0], 0.05);
  // The three identical JPEG channels give the same gray as OpenCV's own grayscale read.
  const cv::Mat reference = cv::imread(path, cv::IMREAD_GRAYSCALE);
  EXPECT_LE(max_abs_diff(to_u8(image), reference), 1.0);
}

TEST(Image, SharedFullResolutionJpeg) {
  PNEUMOSCAN_REQUIRE_SHARED(dir, "data/chest_xray_fullres/PNEUMONIA");
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(dir)) files.push_back(e.path().string());
  ASSERT_FALSE(files.empty());
  std::sort(files.begin(), files.end());
  const Image image = decode_image(files.front());
  const cv::Mat reference = cv::imread(files.front(), cv::IMREAD_UNCHANGED);
  EXPECT_EQ(image.width(), reference.cols);
  EXPECT_EQ(image.height(), reference.rows);
  EXPECT_GT(image.width(), 224);
}

TEST(Image, EmptyCorruptAndTruncatedFilesNameTheFile) {
  test::TempDir dir;
  write_bytes(dir / "empty.png", "");
  expect_input_error(dir / "empty.png", "empty file");

  write_bytes(dir / "notes.jpeg", "this is a text file, not an X-ray\n");
  expect_input_error(dir / "notes.jpeg", "not an image or DICOM file");

  expect_input_error(dir / "missing.png", "cannot open");
  fs::create_directories(dir / "folder.png");
  expect_input_error(dir / "folder.png", "is a folder");

  const cv::Mat original = random_mat(64, 64, CV_8UC1, 5);
  std::vector<uint8_t> png, jpeg;
  ASSERT_TRUE(cv::imencode(".png", original, png));
  ASSERT_TRUE(cv::imencode(".jpg", original, jpeg));
  write_bytes(dir / "truncated.png", std::string(png.begin(), png.begin() + png.size() / 2));
  expect_input_error(dir / "truncated.png", "cannot decode png image");
  write_bytes(dir / "truncated.jpeg", std::string(jpeg.begin(), jpeg.begin() + jpeg.size() / 2));
  expect_input_error(dir / "truncated.jpeg", "cannot decode JPEG image");

  // Bytes after the end marker are not truncation: such a JPEG still decodes.
  std::string padded(jpeg.begin(), jpeg.end());
  padded += std::string(10000, '\0');
  write_bytes(dir / "padded.jpeg", padded);
  EXPECT_EQ(cv::norm(to_u8(decode_image(dir / "padded.jpeg")), cv::imdecode(jpeg, cv::IMREAD_GRAYSCALE),
                     cv::NORM_INF),
            0.0);

  // A PNG whose signature is intact but whose body is garbage.
  std::string corrupt(png.begin(), png.end());
  for (size_t i = 40; i < corrupt.size(); ++i) corrupt[i] = static_cast<char>(i * 31);
  write_bytes(dir / "corrupt.png", corrupt);
  expect_input_error(dir / "corrupt.png", "cannot decode png image");
}

TEST(Image, DecodeBytesMatchesDecodeFile) {
  test::TempDir dir;
  const cv::Mat original = random_mat(30, 20, CV_8UC3, 6);
  ASSERT_TRUE(cv::imwrite(dir / "x.png", original));
  const Image from_file = decode_image(dir / "x.png");
  const Image from_bytes = decode_image_bytes(bytes_of(dir / "x.png"), "upload.png");
  EXPECT_EQ(from_bytes.format, "png");
  EXPECT_EQ(max_abs_diff(from_file.pixels, from_bytes.pixels), 0.0);

  try {
    decode_image_bytes({'n', 'o', 'p', 'e'}, "upload-42");
    ADD_FAILURE() << "no exception";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()), "upload-42: not an image or DICOM file");
  }
  EXPECT_THROW(decode_image_bytes({}, "upload-43"), InputError);
}

TEST(Image, ToU8RoundsAndSaturates) {
  Image image;
  image.pixels = (cv::Mat_<float>(1, 4) << 0.0f, 0.5f, 1.0f, 0.999f);
  const cv::Mat u8 = to_u8(image);
  ASSERT_EQ(u8.type(), CV_8UC1);
  EXPECT_EQ(u8.at<uint8_t>(0, 0), 0);
  EXPECT_EQ(u8.at<uint8_t>(0, 1), 128);
  EXPECT_EQ(u8.at<uint8_t>(0, 2), 255);
  EXPECT_EQ(u8.at<uint8_t>(0, 3), 255);
  EXPECT_TRUE(to_u8(Image{}).empty());
}

TEST(Quality, MeasuresStatisticsSharpnessAndPixelHash) {
  Image flat;
  flat.pixels = cv::Mat(100, 300, CV_32FC1, cv::Scalar(0.25));
  const ImageQuality q = measure_quality(flat);
  EXPECT_EQ(q.width, 300);
  EXPECT_EQ(q.height, 100);
  EXPECT_NEAR(q.mean, 0.25, 1e-6);
  EXPECT_NEAR(q.stddev, 0.0, 1e-6);
  EXPECT_NEAR(q.min, 0.25, 1e-6);
  EXPECT_NEAR(q.max, 0.25, 1e-6);
  EXPECT_NEAR(q.laplacian_variance, 0.0, 1e-9);

  Image sharp;
  random_mat(200, 200, CV_8UC1, 7).convertTo(sharp.pixels, CV_32F, 1.0 / 255.0);
  Image blurred;  // (a copy of an Image shares its pixels)
  cv::GaussianBlur(sharp.pixels, blurred.pixels, cv::Size(0, 0), 3.0);
  const ImageQuality qs = measure_quality(sharp), qb = measure_quality(blurred);
  EXPECT_GT(qs.laplacian_variance, 10 * qb.laplacian_variance);

  // Same pixels -> same hash; one pixel or the shape changed -> different hash.
  Image copy = sharp;
  copy.pixels = sharp.pixels.clone();
  EXPECT_EQ(measure_quality(copy).pixel_hash, qs.pixel_hash);
  copy.pixels.at<float>(10, 10) = copy.pixels.at<float>(10, 10) > 0.5f ? 0.0f : 1.0f;
  EXPECT_NE(measure_quality(copy).pixel_hash, qs.pixel_hash);
  Image reshaped;
  reshaped.pixels = sharp.pixels.reshape(1, 100);  // 100 x 400, same bytes
  EXPECT_NE(measure_quality(reshaped).pixel_hash, qs.pixel_hash);
}

TEST(Quality, ScanImagesKeepsOrderAndReportsErrors) {
  test::TempDir dir;
  std::vector<std::string> paths;
  for (int i = 0; i < 9; ++i) {
    paths.push_back(dir / ("img" + std::to_string(i) + ".png"));
    ASSERT_TRUE(cv::imwrite(paths.back(), random_mat(10 + i, 20, CV_8UC1, 100 + i)));
  }
  write_bytes(dir / "bad.png", "garbage");
  paths.insert(paths.begin() + 4, dir / "bad.png");
  size_t calls = 0;
  const auto scans = scan_images(paths, 3, [&](size_t done, size_t total) {
    ++calls;
    EXPECT_LE(done, total);
  });
  ASSERT_EQ(scans.size(), paths.size());
  EXPECT_EQ(calls, paths.size());
  for (size_t i = 0; i < paths.size(); ++i) {
    EXPECT_EQ(scans[i].path, paths[i]);
    if (i == 4) {
      EXPECT_FALSE(scans[i].ok);
      EXPECT_EQ(scans[i].error.rfind(paths[i] + ": ", 0), 0u);
    } else {
      ASSERT_TRUE(scans[i].ok) << scans[i].error;
      EXPECT_EQ(scans[i].quality.height, 10 + static_cast<int>(i < 4 ? i : i - 1));
    }
  }
}
