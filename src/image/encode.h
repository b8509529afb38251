#pragma once
// Images to file bytes in memory (PNG, JPEG), for files written atomically
// and for data URLs.
#include <cstdint>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

namespace pneumoscan {

// The image encoded by OpenCV in the format of `extension` (".png": 8- or
// 16-bit gray or BGR; ".jpg": 8-bit) with imwrite `params`. Throws IoError
// naming `name` (the file or use it is for) when it cannot be encoded.
std::vector<uint8_t> encode_image(const cv::Mat& image, const std::string& extension, const std::string& name,
                                  const std::vector<int>& params = {});

}  // namespace pneumoscan
