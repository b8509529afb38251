#pragma once
// Why an image that decoded cannot be diagnosed at all: no pixels, smaller
// than kMinDiagnosticSide on a side, or blank. One list for both ways of
// saying no: check_diagnosable (image.h) throws the first as an InputError,
// the input gate (case/gate.h) records each as a refusal.
#include <string>
#include <vector>

#include "image/image.h"

namespace pneumoscan {

struct PixelProblem {
  std::string code;     // the gate's reason code: "blank" or "too_small"
  std::string message;  // "image is 1x1 pixels, too small to diagnose (at least 64 a side)"
};

std::vector<PixelProblem> undiagnosable_pixels(const Image& image);

}  // namespace pneumoscan
