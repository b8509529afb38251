#include "case/uncertainty.h"

#include <algorithm>
#include <cmath>
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

std::vector<cv::Mat> tta_variants(const cv::Mat& resized) {
  if (resized.empty() || resized.type() != CV_8UC1)
    throw UsageError("test-time augmentation needs an 8-bit gray image");
  return {warp(resized, 1.08, 0, 0), warp(resized, 1.0, 0.04, 0.04), apply_gamma_u8(resized, 0.8),
          apply_gamma_u8(resized, 1.25)};
}

Uncertainty uncertainty_interval(const std::vector<double>& probabilities, double threshold,
                                 std::string method) {
  if (probabilities.empty()) throw UsageError("uncertainty of no probabilities");
  Uncertainty u;
  u.low = *std::min_element(probabilities.begin(), probabilities.end());
  u.high = *std::max_element(probabilities.begin(), probabilities.end());
  u.uncertain = u.low < threshold && u.high >= threshold;
  u.method = std::move(method);
  u.samples = static_cast<int>(probabilities.size());
  return u;
}

}  // namespace pneumoscan
