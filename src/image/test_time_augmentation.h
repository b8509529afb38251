#pragma once
// Test-time augmentation: a few mild variants of a model-size image of the
// kind the training augmentation taught a network to ignore (zoom, shift,
// two tone curves). Used for the interval of a single network's verdict
// (case/uncertainty.h) and, averaged, as a lever `evaluate --tta` measures.
#include <opencv2/core.hpp>
#include <vector>

namespace pneumoscan {

inline constexpr int kTtaVariants = 4;

// Variant `index` in [0, kTtaVariants) of a model-size 8-bit gray image
// (image/preprocess.h's resize_for_model output), same size and type: 0 zoom
// in 8% about the centre, 1 shift by 4% right and down, 2 gamma 0.8, 3 gamma
// 1.25. Deterministic. Throws UsageError for another image type or index.
cv::Mat tta_variant(const cv::Mat& resized, int index);

// All kTtaVariants variants, in index order.
std::vector<cv::Mat> tta_variants(const cv::Mat& resized);

}  // namespace pneumoscan
