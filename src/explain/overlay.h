#pragma once
// Drawing and saving explanation maps at the original X-ray's resolution.
#include <cstdint>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "image/image.h"

namespace pneumoscan {

// The [0, 1] map (CV_32FC1, any size) upsampled bilinearly to `size`.
cv::Mat upsample_heatmap(const cv::Mat& heatmap01, cv::Size size);

// The map upsampled to the original's size, coloured with COLORMAP_JET and
// blended over the gray X-ray: alpha * colour + (1 - alpha) * gray. BGR, CV_8UC3.
// Throws UsageError for an empty or non-float map or alpha outside [0, 1].
cv::Mat overlay(const Image& original, const cv::Mat& heatmap01, double alpha = 0.4);

// Writes overlay(original, heatmap01, alpha) as an 8-bit colour PNG, atomically.
// Throws IoError naming `path` when encoding or writing fails.
void write_overlay_png(const std::string& path, const Image& original, const cv::Mat& heatmap01,
                       double alpha = 0.4);

// Writes the map upsampled to `size` as a 16-bit gray PNG (0..65535 for
// 0..1), atomically. Throws IoError naming `path` when encoding or writing fails.
void write_heatmap_png16(const std::string& path, const cv::Mat& heatmap01, cv::Size size);

}  // namespace pneumoscan
