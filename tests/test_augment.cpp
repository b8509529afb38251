// Tests of src/data/augment: determinism, range, and that it changes the image.
#include <opencv2/core.hpp>

#include "data/augment.h"
#include "test_support.h"

using namespace pneumoscan;

namespace {
cv::Mat test_image() {
  cv::Mat image(64, 64, CV_8U);
  cv::randu(image, 0, 256);
  return image;
}
}  // namespace

TEST(Augment, SameSeedEpochAndIndexGiveTheSameImage) {
  const cv::Mat image = test_image();
  AugmentConfig config;
  auto rng1 = augment_rng(7, 3, 11);
  auto rng2 = augment_rng(7, 3, 11);
  const cv::Mat a = augment(image, config, rng1);
  const cv::Mat b = augment(image, config, rng2);
  EXPECT_EQ(cv::norm(a, b, cv::NORM_INF), 0.0);
  auto rng3 = augment_rng(7, 4, 11);
  EXPECT_GT(cv::norm(a, augment(image, config, rng3), cv::NORM_INF), 0.0);
}

TEST(Augment, OutputIsFloatInUnitRange) {
  AugmentConfig config;
  config.max_brightness = 0.5;
  config.max_contrast = 0.9;
  for (int i = 0; i < 20; ++i) {
    auto rng = augment_rng(1, 1, i);
    const cv::Mat out = augment(test_image(), config, rng);
    ASSERT_EQ(out.type(), CV_32FC1);
    double lo, hi;
    cv::minMaxLoc(out, &lo, &hi);
    EXPECT_GE(lo, 0.0);
    EXPECT_LE(hi, 1.0);
  }
}

TEST(Augment, DisabledIsIdentity) {
  const cv::Mat image = test_image();
  AugmentConfig config;
  config.enabled = false;
  auto rng = augment_rng(1, 1, 1);
  cv::Mat expected;
  image.convertTo(expected, CV_32F, 1.0 / 255.0);
  EXPECT_LT(cv::norm(augment(image, config, rng), expected, cv::NORM_INF), 1e-6);
}

TEST(Augment, NoHorizontalFlipByDefault) {
  // A bright left half must stay mostly on the left: X-rays have a side.
  cv::Mat image(64, 64, CV_8U, cv::Scalar(0));
  image(cv::Rect(0, 0, 32, 64)).setTo(200);
  AugmentConfig config;
  for (int i = 0; i < 50; ++i) {
    auto rng = augment_rng(5, 0, i);
    const cv::Mat out = augment(image, config, rng);
    EXPECT_GT(cv::mean(out(cv::Rect(0, 0, 32, 64)))[0], cv::mean(out(cv::Rect(32, 0, 32, 64)))[0]);
  }
}
