#include "serve/explanation_images.h"

#include <algorithm>
#include <opencv2/imgproc.hpp>

#include "explain/overlay.h"

namespace pneumoscan {

std::string base64_encode(const uint8_t* data, size_t size) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
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

std::string png_data_url(const cv::Mat& image) {
  const std::vector<uint8_t> png = encode_png(image, "response image");
  return "data:image/png;base64," + base64_encode(png.data(), png.size());
}

ExplanationImages render_explanation(const Image& image, const Heatmap& heatmap, int max_side, double alpha) {
  Image shown = image;
  const int longer = std::max(image.width(), image.height());
  if (longer > max_side) {
    const double scale = static_cast<double>(max_side) / longer;
    const cv::Size size(std::max(1, static_cast<int>(image.width() * scale + 0.5)),
                        std::max(1, static_cast<int>(image.height() * scale + 0.5)));
    cv::resize(image.pixels, shown.pixels, size, 0, 0, cv::INTER_AREA);
  }
  ExplanationImages images;
  images.width = shown.width();
  images.height = shown.height();
  images.image_png = png_data_url(to_u8(shown));
  images.heatmap_png = png_data_url(overlay(shown, heatmap.map, 1.0));  // alpha 1: colour map alone
  images.overlay_png = png_data_url(overlay(shown, heatmap.map, alpha));
  return images;
}

}  // namespace pneumoscan
