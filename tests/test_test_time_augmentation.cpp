#include <gtest/gtest.h>

#include <opencv2/core.hpp>

#include "core/errors.h"
#include "image/test_time_augmentation.h"

using namespace pneumoscan;

TEST(TestTimeAugmentation, VariantsKeepSizeAndTypeDifferAndRepeat) {
  cv::Mat resized(64, 64, CV_8UC1);
  cv::randu(resized, 0, 256);
  const std::vector<cv::Mat> variants = tta_variants(resized);
  ASSERT_EQ(variants.size(), static_cast<size_t>(kTtaVariants));
  for (int i = 0; i < kTtaVariants; ++i) {
    const cv::Mat& v = variants[i];
    EXPECT_EQ(v.size(), resized.size());
    EXPECT_EQ(v.type(), CV_8UC1);
    EXPECT_GT(cv::norm(v, resized, cv::NORM_L1), 0.0);                   // each one differs from the original
    EXPECT_EQ(cv::norm(tta_variant(resized, i), v, cv::NORM_INF), 0.0);  // one by one = all at once
  }
  const std::vector<cv::Mat> again = tta_variants(resized);
  for (size_t i = 0; i < variants.size(); ++i) EXPECT_EQ(cv::norm(variants[i], again[i], cv::NORM_INF), 0.0);
}

TEST(TestTimeAugmentation, RefusesColourImagesAndUnknownVariants) {
  EXPECT_THROW(tta_variants(cv::Mat(8, 8, CV_8UC3, cv::Scalar::all(1))), UsageError);
  EXPECT_THROW(tta_variants(cv::Mat()), UsageError);
  const cv::Mat gray(8, 8, CV_8UC1, cv::Scalar(9));
  EXPECT_THROW(tta_variant(gray, kTtaVariants), UsageError);
  EXPECT_THROW(tta_variant(gray, -1), UsageError);
}
