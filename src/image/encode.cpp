#include "image/encode.h"

#include <algorithm>
#include <cctype>
#include <opencv2/imgcodecs.hpp>

#include "core/errors.h"

namespace pneumoscan {

std::vector<uint8_t> encode_image(const cv::Mat& image, const std::string& extension, const std::string& name,
                                  const std::vector<int>& params) {
  std::string format = extension.substr(extension.find_first_not_of('.') == std::string::npos
                                            ? extension.size()
                                            : extension.find_first_not_of('.'));
  std::transform(format.begin(), format.end(), format.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  const std::string problem = "could not encode the image as " + format;
  if (image.empty()) throw IoError(name, problem + " (empty image)");
  std::vector<uchar> bytes;
  bool ok = false;
  try {
    ok = cv::imencode(extension, image, bytes, params);
  } catch (const cv::Exception& e) {
    throw IoError(name, problem + " (" + e.err + ")");
  }
  if (!ok) throw IoError(name, problem);
  return bytes;
}

}  // namespace pneumoscan
