#pragma once
// How sure the model is of one case: an interval on P(pneumonia) from the
// spread of several looks at it. For an ensemble the looks are its members
// (each with the file's output calibration); for a single network, test-time
// augmentation: the image and four mild variants of the kind the training
// augmentation taught it to ignore (zoom, shift, two gamma curves). A case
// whose interval straddles the threshold is `uncertain`: another look could
// change the label.
#include <string>
#include <vector>

namespace pneumoscan {

struct Uncertainty {
  double low = 0, high = 0;  // min and max P(pneumonia) over the looks
  bool uncertain = false;    // low < threshold <= high
  std::string method;        // "ensemble" or "tta"
  int samples = 0;           // looks
};

// The interval over `probabilities` (at least one) against `threshold`.
Uncertainty uncertainty_interval(const std::vector<double>& probabilities, double threshold,
                                 std::string method);

}  // namespace pneumoscan
