// Tests of src/data/augment: determinism, range, and that it changes the image.
#include <algorithm>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "core/errors.h"
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

TEST(Augment, PresetsNameTheSettingsAndStandardIsTheDefault) {
  const cv::Mat image = test_image();
  auto rng1 = augment_rng(3, 1, 5);
  auto rng2 = augment_rng(3, 1, 5);
  EXPECT_EQ(cv::norm(augment(image, AugmentConfig{}, rng1), augment(image, augment_preset("standard"), rng2),
                     cv::NORM_INF),
            0.0);
  EXPECT_FALSE(augment_preset("none").enabled);
  const AugmentConfig strong = augment_preset("strong");
  EXPECT_GT(strong.max_gamma, AugmentConfig{}.max_gamma);
  EXPECT_GT(strong.max_contrast, AugmentConfig{}.max_contrast);
  EXPECT_EQ(strong.max_rotation_deg, AugmentConfig{}.max_rotation_deg);  // photometric only
  EXPECT_EQ(strong.max_zoom, AugmentConfig{}.max_zoom);
  EXPECT_DOUBLE_EQ(strong.vendor_processing_probability, 0.5);
  EXPECT_THROW(augment_preset("heavy"), UsageError);
}

TEST(Augment, VendorProcessingChangesLocalContrastAndStaysInRange) {
  // A low-contrast texture: every vendor processing (CLAHE, equalisation,
  // unsharp masking) spreads its values; every other setting is zero here.
  cv::Mat image(64, 64, CV_8U);
  cv::randu(image, 110, 131);
  cv::GaussianBlur(image, image, cv::Size(0, 0), 1.0);
  AugmentConfig only_vendor;
  only_vendor.max_rotation_deg = only_vendor.max_shift = only_vendor.max_zoom = 0;
  only_vendor.max_brightness = only_vendor.max_contrast = only_vendor.max_gamma = 0;
  only_vendor.blur_probability = only_vendor.max_noise = 0;
  only_vendor.vendor_processing_probability = 1.0;
  cv::Mat original;
  image.convertTo(original, CV_32F, 1.0 / 255.0);
  cv::Scalar original_mean, original_std;
  cv::meanStdDev(original, original_mean, original_std);
  int changed = 0;
  for (int i = 0; i < 12; ++i) {
    auto rng = augment_rng(9, 1, i);
    const cv::Mat out = augment(image, only_vendor, rng);
    double lo, hi;
    cv::minMaxLoc(out, &lo, &hi);
    EXPECT_GE(lo, 0.0);
    EXPECT_LE(hi, 1.0);
    cv::Scalar mean, std;
    cv::meanStdDev(out, mean, std);
    changed += std[0] > original_std[0] * 1.05;
  }
  EXPECT_EQ(changed, 12);

  only_vendor.vendor_processing_probability = 0;
  auto rng = augment_rng(9, 1, 0);
  EXPECT_EQ(cv::norm(augment(image, only_vendor, rng), original, cv::NORM_INF), 0.0);
}

TEST(Augment, ZoomRangeBoundsTheScaleOfTheContent) {
  // A centred bright square; with geometry other than zoom and every
  // photometric setting off, its area scales by zoom^2.
  cv::Mat image = cv::Mat::zeros(128, 128, CV_8U);
  cv::rectangle(image, cv::Rect(44, 44, 40, 40), cv::Scalar(255), cv::FILLED);
  AugmentConfig only_zoom;
  only_zoom.max_rotation_deg = only_zoom.max_shift = 0;
  only_zoom.max_brightness = only_zoom.max_contrast = only_zoom.max_gamma = 0;
  only_zoom.blur_probability = only_zoom.max_noise = 0;
  auto area_scale = [&](const AugmentConfig& config, int i) {
    auto rng = augment_rng(5, 0, static_cast<size_t>(i));
    const cv::Mat out = augment(image, config, rng);
    return cv::sum(out)[0] / (40.0 * 40.0);
  };
  for (const double z : {0.10, 0.25}) {
    only_zoom.max_zoom = z;
    double smallest = 10, largest = 0;
    for (int i = 0; i < 200; ++i) {
      const double scale = area_scale(only_zoom, i);
      smallest = std::min(smallest, scale);
      largest = std::max(largest, scale);
    }
    // Bilinear edges blur the area by about one pixel of perimeter.
    EXPECT_GE(smallest, (1 - z) * (1 - z) - 0.06) << "zoom " << z;
    EXPECT_LE(largest, (1 + z) * (1 + z) + 0.06) << "zoom " << z;
    // 200 draws cover the range: both ends within 10 % of it.
    EXPECT_LT(smallest, (1 - 0.8 * z) * (1 - 0.8 * z)) << "zoom " << z;
    EXPECT_GT(largest, (1 + 0.8 * z) * (1 + 0.8 * z)) << "zoom " << z;
  }
}
