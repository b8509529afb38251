#include "explain/overlay.h"

#include <opencv2/imgproc.hpp>
#include <vector>

#include "core/atomic_file.h"
#include "core/errors.h"
#include "image/encode.h"

namespace pneumoscan {
namespace {

void check_heatmap(const cv::Mat& heatmap01) {
  if (heatmap01.empty() || heatmap01.type() != CV_32FC1)
    throw UsageError("heatmap must be a non-empty single-channel float image");
}

void write_png(const std::string& path, const cv::Mat& image) {
  const std::vector<uint8_t> bytes = encode_image(image, ".png", path);
  write_file_atomically(path, std::string(bytes.begin(), bytes.end()));
}

}  // namespace

cv::Mat upsample_heatmap(const cv::Mat& heatmap01, cv::Size size) {
  check_heatmap(heatmap01);
  cv::Mat up;
  if (heatmap01.size() == size)
    up = heatmap01.clone();
  else
    cv::resize(heatmap01, up, size, 0, 0, cv::INTER_LINEAR);
  up = cv::max(up, 0.0);
  up = cv::min(up, 1.0);
  return up;
}

cv::Mat overlay(const Image& original, const cv::Mat& heatmap01, double alpha) {
  if (!(alpha >= 0 && alpha <= 1)) throw UsageError("overlay alpha must be in [0, 1]");
  if (original.pixels.empty()) throw UsageError("overlay: the original image is empty");
  cv::Mat heat8;
  upsample_heatmap(heatmap01, original.pixels.size()).convertTo(heat8, CV_8U, 255.0);
  cv::Mat colour;
  cv::applyColorMap(heat8, colour, cv::COLORMAP_JET);
  cv::Mat gray_bgr;
  cv::cvtColor(to_u8(original), gray_bgr, cv::COLOR_GRAY2BGR);
  cv::Mat blended;
  cv::addWeighted(colour, alpha, gray_bgr, 1.0 - alpha, 0.0, blended);
  return blended;
}

void write_overlay_png(const std::string& path, const Image& original, const cv::Mat& heatmap01,
                       double alpha) {
  write_png(path, overlay(original, heatmap01, alpha));
}

void write_heatmap_png16(const std::string& path, const cv::Mat& heatmap01, cv::Size size) {
  cv::Mat heat16;
  upsample_heatmap(heatmap01, size).convertTo(heat16, CV_16U, 65535.0);
  write_png(path, heat16);
}

}  // namespace pneumoscan
