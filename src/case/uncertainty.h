#pragma once
// How sure the model is of one case: an interval on P(pneumonia) from the
// spread of several looks at it. For an ensemble the looks are its members
// (each with the file's output calibration); for a single network, test-time
// augmentation: the image and four mild variants of the kind the training
// augmentation taught it to ignore (zoom, shift, two gamma curves). A case
// whose interval straddles the threshold is `uncertain`: another look could
// change the label.
#include <opencv2/core.hpp>
#include <string>
#include <vector>

namespace pneumoscan {

struct Uncertainty {
  double low = 0, high = 0;  // min and max P(pneumonia) over the looks
  bool uncertain = false;    // low < threshold <= high
  std::string method;        // "ensemble" or "tta"
  int samples = 0;           // looks
};

inline constexpr int kTtaVariants = 4;

// The kTtaVariants variants of a model-size 8-bit image (image/preprocess.h's
// resize_for_model output), same size and type: zoom in 8% about the centre,
// shift by 4% right and down, gamma 0.8, gamma 1.25. Deterministic.
std::vector<cv::Mat> tta_variants(const cv::Mat& resized);

// The interval over `probabilities` (at least one) against `threshold`.
Uncertainty uncertainty_interval(const std::vector<double>& probabilities, double threshold,
                                 std::string method);

}  // namespace pneumoscan
