#include "serve/explanation_images.h"

#include <algorithm>
#include <opencv2/imgproc.hpp>

#include "explain/overlay.h"
#include "image/data_url.h"
#include "image/image.h"

namespace pneumoscan {

ExplanationImages render_explanation(const Image& image, const Heatmap& heatmap, int max_side, double alpha) {
  Image shown = image;
  shown.pixels = shrink_to_fit(image.pixels, max_side);
  ExplanationImages images;
  images.width = shown.width();
  images.height = shown.height();
  images.image_png = png_data_url(to_u8(shown));
  images.heatmap_png = png_data_url(overlay(shown, heatmap.map, 1.0));  // alpha 1: colour map alone
  images.overlay_png = png_data_url(overlay(shown, heatmap.map, alpha));
  return images;
}

}  // namespace pneumoscan
