// Tests of src/image/decode.cpp (OpenCV side) and src/image/quality.cpp.
#include <chrono>
#include <cmath>
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
    EXPECT_EQ(std::string(e.what()),
              "upload-42: not an image or DICOM file (PNG, JPEG, BMP, TIFF and DICOM are read)");
  }
  EXPECT_THROW(decode_image_bytes({}, "upload-43"), InputError);
}

TEST(Image, FormatsNoXRayComesInAreRefusedNotHandedToOpenCV) {
  // OpenCV reads these, but they are not what an X-ray arrives in, and its
  // readers for them (and GDAL's, via a temporary file) are code a stranger
  // could reach; the refusal says what is read.
  const cv::Mat picture = random_mat(80, 80, CV_8UC1, 7);
  for (const char* extension : {".pgm", ".webp", ".ras", ".hdr"}) {
    std::vector<uint8_t> bytes;
    const bool encoded = cv::imencode(extension, picture, bytes);
    if (extension == std::string(".pgm")) ASSERT_TRUE(encoded);  // the others depend on OpenCV's build
    if (!encoded) continue;
    ASSERT_FALSE(cv::imdecode(bytes, cv::IMREAD_UNCHANGED).empty()) << extension;
    try {
      decode_image_bytes(bytes, std::string("x") + extension);
      ADD_FAILURE() << extension << " decoded";
    } catch (const InputError& e) {
      EXPECT_EQ(std::string(e.what()),
                std::string("x") + extension +
                    ": not an image or DICOM file (PNG, JPEG, BMP, TIFF and DICOM are read)");
    }
  }
  // BMP and TIFF still decode.
  for (const char* extension : {".bmp", ".tiff"}) {
    std::vector<uint8_t> bytes;
    ASSERT_TRUE(cv::imencode(extension, picture, bytes));
    EXPECT_EQ(max_abs_diff(to_u8(decode_image_bytes(bytes, extension)), picture), 0.0) << extension;
  }
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

// --- hostile input: sizes, damage, warnings (issue 14) -------------------------

namespace {

std::string encode(const std::string& ext, const cv::Mat& image, const std::vector<int>& params = {}) {
  std::vector<uint8_t> bytes;
  EXPECT_TRUE(cv::imencode(ext, image, bytes, params));
  return {bytes.begin(), bytes.end()};
}

std::vector<uint8_t> as_bytes(const std::string& s) { return {s.begin(), s.end()}; }

void put_be16(std::string& s, size_t pos, uint32_t v) {
  s[pos] = static_cast<char>(v >> 8);
  s[pos + 1] = static_cast<char>(v & 0xFF);
}
void put_be32(std::string& s, size_t pos, uint32_t v) {
  put_be16(s, pos, v >> 16);
  put_be16(s, pos + 2, v & 0xFFFF);
}
void put_le32(std::string& s, size_t pos, uint32_t v) {
  for (int i = 0; i < 4; ++i) s[pos + i] = static_cast<char>((v >> (8 * i)) & 0xFF);
}

// A JPEG whose frame header (SOF0) claims width x height.
std::string jpeg_claiming(int width, int height) {
  std::string jpeg = encode(".jpg", random_mat(64, 64, CV_8UC1, 11));
  const size_t sof = jpeg.find("\xFF\xC0");
  EXPECT_NE(sof, std::string::npos);
  put_be16(jpeg, sof + 5, height);
  put_be16(jpeg, sof + 7, width);
  return jpeg;
}

std::string input_error_bytes(const std::string& bytes, const std::string& name) {
  try {
    decode_image_bytes(as_bytes(bytes), name);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

double elapsed_ms(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

TEST(ImageLimits, HugeHeadersAreRefusedBeforeDecoding) {
  // The case: an 8 KB JPEG claiming 30000x30000 took 36 s and 7.2 GB.
  const std::string jpeg = jpeg_claiming(30000, 30000);
  auto start = std::chrono::steady_clock::now();
  const std::string message = input_error_bytes(jpeg, "upload.jpg");
  EXPECT_LT(elapsed_ms(start), 50.0);
  EXPECT_EQ(message,
            "upload.jpg: image is 30000x30000 pixels, over the limit of 100 megapixels and 30000 pixels "
            "a side (not decoded)");

  // PNG (IHDR), BMP (BITMAPINFOHEADER) and a side over 30000 within the pixel budget.
  std::string png = encode(".png", random_mat(64, 64, CV_8UC1, 12));
  put_be32(png, 16, 20000);
  put_be32(png, 20, 20000);
  start = std::chrono::steady_clock::now();
  EXPECT_NE(input_error_bytes(png, "black.png").find("20000x20000 pixels, over the limit"),
            std::string::npos);
  std::string bmp = encode(".bmp", random_mat(64, 64, CV_8UC1, 13));
  put_le32(bmp, 18, 16000);
  put_le32(bmp, 22, static_cast<uint32_t>(-16000));  // top-down
  EXPECT_NE(input_error_bytes(bmp, "x.bmp").find("16000x16000 pixels, over the limit"), std::string::npos);
  EXPECT_NE(input_error_bytes(jpeg_claiming(40000, 100), "wide.jpg").find("40000x100 pixels"),
            std::string::npos);
  EXPECT_LT(elapsed_ms(start), 50.0);

  // Files are named the same way.
  test::TempDir dir;
  write_bytes(dir / "huge.jpeg", jpeg);
  expect_input_error(dir / "huge.jpeg", "over the limit of 100 megapixels");
}

TEST(ImageLimits, CheckImageDimensions) {
  EXPECT_NO_THROW(check_image_dimensions(30000, 3333, "a"));
  EXPECT_NO_THROW(check_image_dimensions(10000, 10000, "a"));
  EXPECT_THROW(check_image_dimensions(10000, 10001, "a"), InputError);
  EXPECT_THROW(check_image_dimensions(30001, 10, "a"), InputError);
  EXPECT_THROW(check_image_dimensions(0, 10, "a"), InputError);
  EXPECT_THROW(check_image_dimensions(5000, 5000, "a", 5), InputError);  // frames count too
  EXPECT_NO_THROW(check_image_dimensions(5000, 5000, "a", 4));
}

TEST(ImageLimits, HeaderSizesMatchTheDecodedImage) {
  const cv::Mat image = random_mat(37, 53, CV_8UC3, 14);
  for (const char* ext : {".png", ".jpg", ".bmp", ".tiff"}) {
    const Image decoded = decode_image_bytes(as_bytes(encode(ext, image)), ext);
    EXPECT_EQ(decoded.width(), 53) << ext;
    EXPECT_EQ(decoded.height(), 37) << ext;
  }
  // Progressive JPEGs carry SOF2.
  const Image progressive =
      decode_image_bytes(as_bytes(encode(".jpg", image, {cv::IMWRITE_JPEG_PROGRESSIVE, 1})), "p.jpg");
  EXPECT_EQ(progressive.width(), 53);
  // A header cut short is a clear error.
  const std::string png = encode(".png", image);
  EXPECT_NE(input_error_bytes(png.substr(0, 20), "cut.png").find("cannot decode png image"),
            std::string::npos);
  const std::string jpeg = encode(".jpg", image);
  EXPECT_NE(input_error_bytes(jpeg.substr(0, 30), "cut.jpg").find("cannot decode JPEG image"),
            std::string::npos);
}

TEST(ImageDecoders, SameGrayAsOpenCv) {
  // image/codecs.h decodes JPEG and PNG itself (to capture warnings): every
  // pixel must stay what OpenCV's imdecode + cvtColor gave before.
  const auto opencv_gray = [](const std::string& bytes) {
    const cv::Mat decoded = cv::imdecode(as_bytes(bytes), cv::IMREAD_UNCHANGED);
    cv::Mat gray = decoded;
    if (decoded.channels() == 3) cv::cvtColor(decoded, gray, cv::COLOR_BGR2GRAY);
    if (decoded.channels() == 4) cv::cvtColor(decoded, gray, cv::COLOR_BGRA2GRAY);
    cv::Mat out;
    gray.convertTo(out, CV_32F, gray.depth() == CV_16U ? 1.0 / 65535.0 : 1.0 / 255.0);
    return out;
  };
  std::vector<std::pair<std::string, std::string>> files = {
      {"gray.jpg", encode(".jpg", random_mat(70, 90, CV_8UC1, 20))},
      {"colour.jpg", encode(".jpg", random_mat(70, 90, CV_8UC3, 21))},
      {"progressive.jpg", encode(".jpg", random_mat(70, 90, CV_8UC3, 22), {cv::IMWRITE_JPEG_PROGRESSIVE, 1})},
      {"gray8.png", encode(".png", random_mat(70, 90, CV_8UC1, 23))},
      {"gray16.png", encode(".png", random_mat(70, 90, CV_16UC1, 24))},
      {"bgr8.png", encode(".png", random_mat(70, 90, CV_8UC3, 25))},
      {"bgr16.png", encode(".png", random_mat(70, 90, CV_16UC3, 26))},
      {"bgra8.png", encode(".png", random_mat(70, 90, CV_8UC4, 27))},
      {"bilevel.png", encode(".png", random_mat(70, 90, CV_8UC1, 28) > 128, {cv::IMWRITE_PNG_BILEVEL, 1})},
  };
  const std::string shared = test::shared_path("data/chest_xray/test/PNEUMONIA");
  if (!shared.empty()) {
    std::vector<std::string> paths;
    for (const auto& e : fs::directory_iterator(shared)) paths.push_back(e.path().string());
    std::sort(paths.begin(), paths.end());
    for (size_t i = 0; i < paths.size() && i < 20; ++i) files.emplace_back(paths[i], read_file(paths[i]));
  }
  for (size_t i = 0; i < files.size(); ++i) {
    const auto& [name, bytes] = files[i];
    const Image image = decode_image_bytes(as_bytes(bytes), name);
    EXPECT_EQ(max_abs_diff(image.pixels, opencv_gray(bytes)), 0.0) << name;
    if (i < 9)
      EXPECT_TRUE(image.warnings.empty()) << name << ": " << image.warnings.front();  // made here, clean
  }
}

TEST(ImageDecoders, WarningsAreAttachedNotPrinted) {
  const cv::Mat original = random_mat(64, 64, CV_8UC1, 30);
  // Junk before the end marker: libjpeg's "extraneous bytes" warning.
  std::string jpeg = encode(".jpg", original);
  ASSERT_EQ(jpeg.substr(jpeg.size() - 2), "\xFF\xD9");
  jpeg.insert(jpeg.size() - 2, "junk");
  // An ancillary chunk with a wrong CRC: libpng warns and skips it.
  std::string png = encode(".png", original);
  std::string text_chunk = std::string("\0\0\0\x05tEXtab\0cd", 13) + "\xDE\xAD\xBE\xEF";
  png.insert(33, text_chunk);  // after the signature and IHDR

  testing::internal::CaptureStderr();
  const Image from_jpeg = decode_image_bytes(as_bytes(jpeg), "junk.jpg");
  const Image from_png = decode_image_bytes(as_bytes(png), "crc.png");
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
  ASSERT_EQ(from_jpeg.warnings.size(), 1u);
  EXPECT_NE(from_jpeg.warnings[0].find("extraneous bytes before marker 0xd9"), std::string::npos)
      << from_jpeg.warnings[0];
  EXPECT_EQ(max_abs_diff(to_u8(from_jpeg), cv::imdecode(as_bytes(jpeg), cv::IMREAD_GRAYSCALE)), 0.0);
  ASSERT_EQ(from_png.warnings.size(), 1u);
  EXPECT_NE(from_png.warnings[0].find("CRC error"), std::string::npos) << from_png.warnings[0];
  EXPECT_EQ(max_abs_diff(to_u8(from_png), original), 0.0);
}

TEST(ImageDecoders, SmallJpegClaimingAHugeSizeIsRefusedAsDamaged) {
  // A few KB whose frame header claims 9000x9000 (81 Mpx, under the pixel
  // limit): the scan data runs out at once. The decode ends at that first
  // damaged block instead of filling 81 Mpx with gray (seconds) before refusing.
  std::string jpeg = encode(".jpg", random_mat(256, 256, CV_8UC1, 32));
  const size_t frame = jpeg.find("\xFF\xC0");
  ASSERT_NE(frame, std::string::npos);
  for (size_t at : {frame + 5, frame + 7}) {  // height, then width, big-endian
    jpeg[at] = static_cast<char>(9000 >> 8);
    jpeg[at + 1] = static_cast<char>(9000 & 0xFF);
  }
  const std::string message = input_error_bytes(jpeg, "claims.jpg");
  EXPECT_EQ(message.rfind("claims.jpg: cannot decode JPEG image (damaged image data: ", 0), 0u) << message;
}

TEST(ImageDecoders, DicomElementClaimingGigabytesIsRefusedAsCutShort) {
  // Found by fuzzing: DCMTK allocates an element's declared length before
  // reading it. A 200-byte file whose pixel data claims 3.75 GB must end in a
  // one-line refusal naming the file (a memory-capped machine: the same, via
  // std::bad_alloc), not a crash.
  std::string dicom(128, '\0');
  dicom += "DICM";
  const std::string syntax("1.2.840.10008.1.2.1\0", 20);  // explicit VR little endian, padded even
  dicom += std::string("\x02\x00\x10\x00UI", 6) + static_cast<char>(syntax.size()) + '\0' + syntax;
  dicom += std::string("\xE0\x7F\x10\x00OB\0\0\x00\x00\x00\xF0", 12) + std::string(16, '\x7F');
  const std::string message = input_error_bytes(dicom, "claims.dcm");
  EXPECT_EQ(message.rfind("claims.dcm: ", 0), 0u) << message;
  EXPECT_NE(message.find("DICOM"), std::string::npos) << message;
}

TEST(ImageDecoders, ColourStripDecodesInsteadOfFailingInsideOpenCV) {
  // Found by fuzzing (a colour DICOM): measuring colourfulness shrank a 1-row
  // strip to 0 rows and OpenCV threw, so `predict` printed OpenCV's raw text.
  const std::string png = encode(".png", random_mat(1, 600, CV_8UC3, 33));
  const Image image = decode_image_bytes(as_bytes(png), "strip.png");
  EXPECT_EQ(image.width(), 600);
  EXPECT_EQ(image.height(), 1);
  EXPECT_GT(image.colourfulness, 0.0);
}

TEST(ImageResize, ShrinkToFitKeepsEverySideAtLeastOnePixel) {
  EXPECT_EQ(shrink_to_fit(cv::Mat(1, 100000, CV_8UC1, cv::Scalar(9)), 256).size(), cv::Size(256, 1));
  EXPECT_EQ(shrink_to_fit(cv::Mat(1000, 500, CV_8UC1, cv::Scalar(9)), 256).size(), cv::Size(128, 256));
  const cv::Mat fits(100, 200, CV_8UC1, cv::Scalar(9));
  EXPECT_EQ(shrink_to_fit(fits, 256).data, fits.data);  // no copy when it fits
}

TEST(ImageDecoders, DamagedJpegDataIsRefused) {
  // Scan data cut in the middle but ending with a proper end marker: libjpeg
  // "decodes" it with the missing part gray ("premature end of data segment").
  const std::string jpeg = encode(".jpg", random_mat(256, 256, CV_8UC1, 31));
  const size_t scan = jpeg.rfind("\xFF\xDA");
  ASSERT_NE(scan, std::string::npos);
  const std::string cut = jpeg.substr(0, scan + (jpeg.size() - scan) / 2) + "\xFF\xD9";
  const std::string message = input_error_bytes(cut, "cut.jpg");
  EXPECT_EQ(message.rfind("cut.jpg: cannot decode JPEG image (damaged image data: Corrupt JPEG data", 0), 0u)
      << message;
  // A duplicated chunk of scan data, as in the issue.
  std::string duplicated = jpeg;
  duplicated.insert(scan + 600, jpeg.substr(scan + 200, 400));
  testing::internal::CaptureStderr();
  try {
    const Image image = decode_image_bytes(as_bytes(duplicated), "dup.jpg");
    // libjpeg resynchronises on it; the damage must then travel with the image as a warning
    // (the file's result carries it), never pass unnoticed.
    ASSERT_FALSE(image.warnings.empty()) << "a duplicated chunk of scan data decoded without a warning";
    EXPECT_NE(image.warnings.front().find("Corrupt JPEG data"), std::string::npos) << image.warnings.front();
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("dup.jpg: cannot decode JPEG image", 0), 0u) << e.what();
  }
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
}

TEST(ImageValidity, TinyAndBlankImagesAreNotDiagnosed) {
  const auto refusal = [](const cv::Mat& pixels8) {
    Image image;
    pixels8.convertTo(image.pixels, CV_32F, 1.0 / 255.0);
    try {
      check_diagnosable(image, "x.png");
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_EQ(refusal(cv::Mat(1, 1, CV_8UC1, cv::Scalar(200))),
            "x.png: image is 1x1 pixels, too small to diagnose (at least 64 a side)");
  EXPECT_NE(refusal(random_mat(63, 500, CV_8UC1, 40)).find("too small"), std::string::npos);
  EXPECT_EQ(refusal(cv::Mat(300, 300, CV_8UC1, cv::Scalar(0))),
            "x.png: image is blank (every pixel has the same gray value 0/255); nothing to diagnose");
  EXPECT_EQ(refusal(random_mat(64, 64, CV_8UC1, 41)), "");
  cv::Mat two_levels(100, 100, CV_8UC1, cv::Scalar(10));
  two_levels.at<uint8_t>(5, 5) = 11;  // one gray level of structure is still an image
  EXPECT_EQ(refusal(two_levels), "");
  Image nan_image;
  nan_image.pixels = cv::Mat(100, 100, CV_32FC1, cv::Scalar(std::nanf("")));
  EXPECT_THROW(check_diagnosable(nan_image, "nan"), InputError);
}

TEST(ImageDecoders, ReducedJpegDecodeKeepsAtLeastTheRequestedSize) {
  // A smooth picture with some texture, 1000x800, gray and colour.
  cv::Mat gray(800, 1000, CV_8UC1);
  for (int y = 0; y < gray.rows; ++y)
    for (int x = 0; x < gray.cols; ++x)
      gray.at<uint8_t>(y, x) = static_cast<uint8_t>((x / 4 + y / 5 + (x * y) % 7) % 256);
  const std::string gray_jpeg = encode(".jpg", gray);
  const std::vector<uint8_t> bytes = as_bytes(gray_jpeg);

  const Image full = decode_image_bytes(bytes, "g.jpg");
  EXPECT_EQ(full.reduction, 1);
  EXPECT_EQ(full.original_width(), 1000);
  for (const auto& [at_least, reduction] :
       std::vector<std::pair<int, int>>{{224, 2}, {200, 4}, {100, 8}, {700, 1}, {900, 1}}) {
    const Image reduced = decode_image_bytes(bytes, "g.jpg", DecodeOptions{at_least});
    EXPECT_EQ(reduced.reduction, reduction) << at_least;
    EXPECT_EQ(reduced.width(), (1000 + reduction - 1) / reduction) << at_least;
    EXPECT_EQ(reduced.height(), (800 + reduction - 1) / reduction) << at_least;
    if (reduction > 1) EXPECT_GE(std::min(reduced.width(), reduced.height()), at_least);
    EXPECT_EQ(reduced.original_width(), 1000);
    EXPECT_EQ(reduced.original_height(), 800);
    if (reduction == 1) continue;
    // libjpeg's DCT scaling: exactly what OpenCV's IMREAD_REDUCED_GRAYSCALE_n gives...
    const int flag = reduction == 2   ? cv::IMREAD_REDUCED_GRAYSCALE_2
                     : reduction == 4 ? cv::IMREAD_REDUCED_GRAYSCALE_4
                                      : cv::IMREAD_REDUCED_GRAYSCALE_8;
    cv::Mat opencv;
    cv::imdecode(as_bytes(gray_jpeg), flag).convertTo(opencv, CV_32F, 1.0 / 255.0);
    EXPECT_EQ(max_abs_diff(reduced.pixels, opencv), 0.0) << at_least;
    // ... and close to the full decode shrunk by area averaging.
    cv::Mat area;
    cv::resize(full.pixels, area, reduced.pixels.size(), 0, 0, cv::INTER_AREA);
    EXPECT_LT(cv::mean(cv::abs(area - reduced.pixels))[0], 3.0 / 255.0) << at_least;
  }
  // Other formats are never reduced.
  const Image png = decode_image_bytes(as_bytes(encode(".png", gray)), "g.png", DecodeOptions{100});
  EXPECT_EQ(png.reduction, 1);
  EXPECT_EQ(png.width(), 1000);
}
