#include "image/test_time_augmentation.h"

#include <opencv2/imgproc.hpp>

#include "core/errors.h"
#include "image/preprocess.h"

namespace pneumoscan {
namespace {

cv::Mat warp(const cv::Mat& image, double scale, double dx, double dy) {
  const cv::Point2f centre(image.cols / 2.0f, image.rows / 2.0f);
  cv::Mat m = cv::getRotationMatrix2D(centre, 0.0, scale);
  m.at<double>(0, 2) += dx * image.cols;
  m.at<double>(1, 2) += dy * image.rows;
  cv::Mat out;
  cv::warpAffine(image, out, m, image.size(), cv::INTER_LINEAR, cv::BORDER_REFLECT_101);
  return out;
}

}  // namespace

cv::Mat tta_variant(const cv::Mat& resized, int index) {
  if (resized.empty() || resized.type() != CV_8UC1)
    throw UsageError("test-time augmentation needs an 8-bit gray image");
  switch (index) {
    case 0:
      return warp(resized, 1.08, 0, 0);
    case 1:
      return warp(resized, 1.0, 0.04, 0.04);
    case 2:
      return apply_gamma_u8(resized, 0.8);
    case 3:
      return apply_gamma_u8(resized, 1.25);
    default:
      throw UsageError("test-time augmentation: no variant " + std::to_string(index));
  }
}

std::vector<cv::Mat> tta_variants(const cv::Mat& resized) {
  std::vector<cv::Mat> variants;
  for (int i = 0; i < kTtaVariants; ++i) variants.push_back(tta_variant(resized, i));
  return variants;
}

}  // namespace pneumoscan
