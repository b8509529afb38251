// Tests of src/image/preprocess: resizing and normalisation shared by training and inference.
#include <nlohmann/json.hpp>
#include <opencv2/imgproc.hpp>

#include "core/errors.h"
#include "image/preprocess.h"
#include "test_support.h"

using namespace pneumoscan;

namespace {
Image gradient_image(int width, int height) {
  Image image;
  image.pixels = cv::Mat(height, width, CV_32F);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x) image.pixels.at<float>(y, x) = static_cast<float>(x + y) / (width + height);
  return image;
}
}  // namespace

TEST(Preprocess, ResizeStretchesToSquare8Bit) {
  PreprocessConfig config;
  config.input_size = 64;
  const cv::Mat resized = resize_for_model(gradient_image(300, 200), config);
  EXPECT_EQ(resized.rows, 64);
  EXPECT_EQ(resized.cols, 64);
  EXPECT_EQ(resized.type(), CV_8UC1);
}

TEST(Preprocess, ImageZScoreRemovesExposureAndContrast) {
  PreprocessConfig config;
  config.input_size = 32;
  cv::Mat base(32, 32, CV_8U);
  cv::randu(base, 40, 200);
  cv::Mat brighter;
  base.convertTo(brighter, CV_8U, 0.5, 60);  // another exposure and contrast
  std::vector<float> a(32 * 32), b(32 * 32);
  normalize_into(base, config, a.data());
  normalize_into(brighter, config, b.data());
  double mean = 0, sq = 0, diff = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    mean += a[i];
    sq += a[i] * a[i];
    diff = std::max(diff, static_cast<double>(std::abs(a[i] - b[i])));
  }
  mean /= a.size();
  EXPECT_NEAR(mean, 0.0, 1e-4);
  EXPECT_NEAR(sq / a.size(), 1.0, 1e-3);
  EXPECT_LT(diff, 0.05);  // only 8-bit rounding differs
}

TEST(Preprocess, FixedNormalisationAndChannelCopies) {
  PreprocessConfig config;
  config.input_size = 16;
  config.channels = 3;
  config.normalization = Normalization::kFixed;
  config.mean = 0.5f;
  config.std = 0.5f;
  cv::Mat white(16, 16, CV_8U, cv::Scalar(255));
  std::vector<float> out(3 * 16 * 16);
  normalize_into(white, config, out.data());
  for (float v : out) EXPECT_FLOAT_EQ(v, 1.0f);
}

TEST(Preprocess, BlankImageStaysFinite) {
  PreprocessConfig config;
  config.input_size = 16;
  cv::Mat blank(16, 16, CV_8U, cv::Scalar(0));
  std::vector<float> out(16 * 16);
  for (Normalization n : {Normalization::kImageZScore, Normalization::kEqualizeZScore}) {
    config.normalization = n;
    normalize_into(blank, config, out.data());
    for (float v : out) EXPECT_TRUE(std::isfinite(v));
  }
}

TEST(Preprocess, JsonRoundTripAndValidation) {
  PreprocessConfig config;
  config.input_size = 224;
  config.channels = 3;
  config.normalization = Normalization::kEqualizeZScore;
  const PreprocessConfig back = preprocess_from_json(to_json(config), "m");
  EXPECT_EQ(back.input_size, 224);
  EXPECT_EQ(back.channels, 3);
  EXPECT_EQ(back.normalization, Normalization::kEqualizeZScore);
  nlohmann::json bad = to_json(config);
  bad["channels"] = 2;
  EXPECT_THROW(preprocess_from_json(bad, "m"), ModelFileError);
  bad = to_json(config);
  bad["resize"] = "letterbox";
  EXPECT_THROW(preprocess_from_json(bad, "m"), ModelFileError);
}
