#include "image/data_url.h"

#include <algorithm>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/errors.h"
#include "image/encode.h"
#include "image/image.h"

namespace pneumoscan {
namespace {
constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string encoded_data_url(const cv::Mat& image, const char* extension, const char* mime,
                             const std::vector<int>& params) {
  const std::vector<uint8_t> bytes = encode_image(image, extension, "data URL", params);
  return std::string("data:") + mime + ";base64," + base64_encode(bytes.data(), bytes.size());
}
}  // namespace

std::string base64_encode(const uint8_t* data, size_t size) {
  std::string out;
  out.reserve((size + 2) / 3 * 4);
  for (size_t i = 0; i < size; i += 3) {
    const uint32_t chunk = (uint32_t(data[i]) << 16) | (i + 1 < size ? uint32_t(data[i + 1]) << 8 : 0) |
                           (i + 2 < size ? uint32_t(data[i + 2]) : 0);
    out += kAlphabet[(chunk >> 18) & 63];
    out += kAlphabet[(chunk >> 12) & 63];
    out += i + 1 < size ? kAlphabet[(chunk >> 6) & 63] : '=';
    out += i + 2 < size ? kAlphabet[chunk & 63] : '=';
  }
  return out;
}

std::string base64_encode(const std::string& bytes) {
  return base64_encode(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
}

std::vector<uint8_t> base64_decode(const std::string& text) {
  std::vector<uint8_t> out;
  out.reserve(text.size() / 4 * 3);
  uint32_t buffer = 0;
  int bits = 0;
  for (const char c : text) {
    if (c == '=') break;
    const char* at = std::find(kAlphabet, kAlphabet + 64, c);
    if (at == kAlphabet + 64) throw InputError("data URL", std::string("not base64: '") + c + "'");
    buffer = (buffer << 6) | static_cast<uint32_t>(at - kAlphabet);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<uint8_t>((buffer >> bits) & 0xFF));
    }
  }
  return out;
}

std::string png_data_url(const cv::Mat& image8) { return encoded_data_url(image8, ".png", "image/png", {}); }

std::string jpeg_data_url(const cv::Mat& image8, int max_side, int quality) {
  return encoded_data_url(shrink_to_fit(image8, max_side), ".jpg", "image/jpeg",
                          {cv::IMWRITE_JPEG_QUALITY, quality});
}

}  // namespace pneumoscan
