// check_diagnosable: the decode-level refusals of images that decode fine but
// would get a confident, meaningless diagnosis (a 1x1 PNG scored 0.99999).
#include <opencv2/core.hpp>

#include "core/errors.h"
#include "image/image.h"

namespace pneumoscan {

void check_diagnosable(const Image& image, const std::string& name) {
  const std::string size =
      std::to_string(image.original_width()) + "x" + std::to_string(image.original_height());
  if (image.pixels.empty()) throw InputError(name, "image has no pixels");
  if (std::min(image.original_width(), image.original_height()) < kMinDiagnosticSide)
    throw InputError(name, "image is " + size + " pixels, too small to diagnose (at least " +
                               std::to_string(kMinDiagnosticSide) + " a side)");
  double lo = 0, hi = 0;
  cv::minMaxLoc(image.pixels, &lo, &hi);
  if (!(hi - lo >= 0.5 / 255.0))  // less than one 8-bit level apart; also catches NaN
    throw InputError(name, "image is blank (every pixel has the same gray value " +
                               std::to_string(static_cast<int>(lo * 255.0 + 0.5)) +
                               "/255); nothing to diagnose");
}

}  // namespace pneumoscan
