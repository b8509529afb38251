#include "serve/explanation_images.h"

#include <algorithm>
#include <opencv2/imgproc.hpp>

#include "explain/overlay.h"
#include "image/data_url.h"

namespace pneumoscan {

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
