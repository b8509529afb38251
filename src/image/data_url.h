#pragma once
// Images embedded in HTML and JSON as data URLs ("data:image/png;base64,..."),
// so case reports open with no network and API responses carry their pictures.
#include <opencv2/core.hpp>
#include <string>
#include <vector>

namespace pneumoscan {

std::string base64_encode(const uint8_t* data, size_t size);
std::string base64_encode(const std::string& bytes);
// Throws InputError("data URL", ...) on characters outside the alphabet.
std::vector<uint8_t> base64_decode(const std::string& text);

// "data:image/png;base64,..." for an 8-bit gray or BGR image.
std::string png_data_url(const cv::Mat& image8);

// The 8-bit image shrunk (never enlarged) to fit `max_side`, as a JPEG data URL.
std::string jpeg_data_url(const cv::Mat& image8, int max_side, int quality = 90);

}  // namespace pneumoscan
