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
    for (int x = 0; x < width; ++x)
      image.pixels.at<float>(y, x) = static_cast<float>(x + y) / (width + height);
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

// Regression: equalize_zscore wrote the equalised pixels back into its input
// (the training cache's images; a segmentation fault when they are views into
// the read-only memory-mapped image store).
TEST(Preprocess, EqualizeZScoreLeavesItsInputAlone) {
  PreprocessConfig config;
  config.input_size = 32;
  config.normalization = Normalization::kEqualizeZScore;
  cv::Mat image(32, 32, CV_8U);
  cv::randu(image, 90, 140);  // a narrow histogram: equalising changes nearly every pixel
  const cv::Mat before = image.clone();
  std::vector<float> out(32 * 32);
  normalize_into(image, config, out.data());
  EXPECT_EQ(cv::norm(image, before, cv::NORM_INF), 0.0);
  std::vector<float> again(32 * 32);
  normalize_into(image, config, again.data());
  EXPECT_EQ(out, again);
  double mean = 0;
  for (float v : out) mean += v / out.size();
  EXPECT_NEAR(mean, 0.0, 1e-4);
}

TEST(Preprocess, FixedNormalisationAndChannelCopies) {
  PreprocessConfig config;
  config.input_size = 16;
  config.channels = 3;
  config.normalization = Normalization::kFixed;
  config.mean = {0.5f};
  config.std = {0.5f};
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

// Per-channel constants on the repeated gray image give exactly the ImageNet
// input of that gray picture: channel c = (x/255 - mean[c]) / std[c].
TEST(Preprocess, PerChannelNormalisationOfRepeatedGray) {
  PreprocessConfig config;
  config.input_size = 16;
  config.channels = 3;
  config.normalization = Normalization::kFixed;
  const FixedNormalization imagenet = normalization_preset("imagenet");
  config.mean = imagenet.mean;
  config.std = imagenet.std;
  cv::Mat gray(16, 16, CV_8U);
  cv::randu(gray, 0, 256);
  std::vector<float> out(3 * 16 * 16);
  normalize_into(gray, config, out.data());
  for (int c = 0; c < 3; ++c)
    for (int i = 0; i < 16 * 16; ++i) {
      const float x = gray.data[i] / 255.0f;
      ASSERT_NEAR(out[c * 256 + i], (x - imagenet.mean[c]) / imagenet.std[c], 1e-5) << "channel " << c;
    }
  EXPECT_EQ(imagenet.mean, (std::vector<float>{0.485f, 0.456f, 0.406f}));
  EXPECT_EQ(imagenet.std, (std::vector<float>{0.229f, 0.224f, 0.225f}));
  EXPECT_EQ(normalization_preset("inception").mean, std::vector<float>{0.5f});
  EXPECT_THROW(normalization_preset("caffe"), UsageError);
}

TEST(Preprocess, PerChannelJsonRoundTripAndOldScalarForm) {
  PreprocessConfig config;
  config.input_size = 224;
  config.channels = 3;
  config.normalization = Normalization::kFixed;
  config.mean = {0.485f, 0.456f, 0.406f};
  config.std = {0.229f, 0.224f, 0.225f};
  const nlohmann::json json = to_json(config);
  EXPECT_TRUE(json.at("mean").is_array());
  EXPECT_TRUE(has_per_channel_normalization(config));
  const PreprocessConfig back = preprocess_from_json(json, "m");
  EXPECT_EQ(back.mean, config.mean);
  EXPECT_EQ(back.std, config.std);
  // One value for every channel is written as a plain number, as before.
  PreprocessConfig scalar;
  EXPECT_TRUE(to_json(scalar).at("mean").is_number());
  EXPECT_FALSE(has_per_channel_normalization(scalar));
  const nlohmann::json old = {{"input_size", 128},        {"channels", 1}, {"resize", "stretch_area"},
                              {"normalization", "fixed"}, {"mean", 0.5},   {"std", 0.5}};
  EXPECT_EQ(preprocess_from_json(old, "old").mean, std::vector<float>{0.5f});

  auto message_of = [](const nlohmann::json& j) -> std::string {
    try {
      preprocess_from_json(j, "m.psmodel");
    } catch (const ModelFileError& e) {
      return e.what();
    }
    return "no error";
  };
  nlohmann::json bad = json;
  bad["channels"] = 1;  // per-channel constants with one channel
  EXPECT_NE(message_of(bad).find("need 3 input channels"), std::string::npos) << message_of(bad);
  bad = json;
  bad["mean"] = {0.4, 0.5};
  EXPECT_NE(message_of(bad).find("1 value or 3"), std::string::npos) << message_of(bad);
  bad = json;
  bad["std"] = {0.2, 0.0, 0.2};
  EXPECT_NE(message_of(bad).find("std must be positive"), std::string::npos) << message_of(bad);
  bad = json;
  bad["mean"] = "imagenet";
  EXPECT_NE(message_of(bad).find("m.psmodel"), std::string::npos) << message_of(bad);
}

TEST(Preprocess, ParseChannelValues) {
  EXPECT_EQ(parse_channel_values("0.5", "--norm-mean"), std::vector<float>{0.5f});
  EXPECT_EQ(parse_channel_values("0.485,0.456,0.406", "--norm-mean"),
            (std::vector<float>{0.485f, 0.456f, 0.406f}));
  for (const char* bad : {"", "0.4,0.5", "0.4,,0.5", "a,b,c", "0.5x", "1,2,3,4"}) {
    try {
      parse_channel_values(bad, "--norm-std");
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const UsageError& e) {
      EXPECT_EQ(std::string(e.what()).rfind("--norm-std: ", 0), 0u) << e.what();
    }
  }
}
