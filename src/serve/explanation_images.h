#pragma once
// A heatmap explanation as the web page shows it: PNG data URLs of the X-ray,
// the coloured heatmap and their blend, all at one display size, so that the
// page can fade the heatmap over the X-ray.
#include <opencv2/core.hpp>
#include <string>

#include "explain/heatmap.h"
#include "image/image.h"

namespace pneumoscan {

struct ExplanationImages {
  std::string image_png;    // data:image/png;base64,... the X-ray (gray)
  std::string heatmap_png;  // the map in COLORMAP_JET colours
  std::string overlay_png;  // alpha blend of both (overlay.h)
  int width = 0, height = 0;
};

// Renders at most `max_side` pixels on the longer side (the X-ray is shrunk,
// never enlarged), keeping responses small for multi-megapixel DICOMs.
ExplanationImages render_explanation(const Image& image, const Heatmap& heatmap, int max_side = 1024,
                                     double alpha = 0.4);

}  // namespace pneumoscan
