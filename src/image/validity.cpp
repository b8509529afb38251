// check_diagnosable: the decode-level refusals of images that decode fine but
// would get a confident, meaningless diagnosis (a 1x1 PNG scored 0.99999).
#include "image/validity.h"

#include <algorithm>
#include <opencv2/core.hpp>

#include "core/errors.h"

namespace pneumoscan {

std::vector<PixelProblem> undiagnosable_pixels(const Image& image) {
  if (image.pixels.empty()) return {{"blank", "image has no pixels"}};
  std::vector<PixelProblem> problems;
  if (std::min(image.original_width(), image.original_height()) < kMinDiagnosticSide)
    problems.push_back({"too_small", "image is " + std::to_string(image.original_width()) + "x" +
                                         std::to_string(image.original_height()) +
                                         " pixels, too small to diagnose (at least " +
                                         std::to_string(kMinDiagnosticSide) + " a side)"});
  double lo = 0, hi = 0;
  cv::minMaxLoc(image.pixels, &lo, &hi);
  if (!(hi - lo >= 0.5 / 255.0))  // less than one 8-bit level apart; also catches NaN
    problems.push_back({"blank", "image is blank (every pixel has the same gray value " +
                                     std::to_string(static_cast<int>(lo * 255.0 + 0.5)) +
                                     "/255); nothing to diagnose"});
  return problems;
}

void check_diagnosable(const Image& image, const std::string& name) {
  const std::vector<PixelProblem> problems = undiagnosable_pixels(image);
  if (!problems.empty()) throw InputError(name, problems.front().message);
}

}  // namespace pneumoscan
