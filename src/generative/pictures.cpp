#include "generative/pictures.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <opencv2/imgproc.hpp>

#include "core/errors.h"
#include "image/encode.h"

namespace pneumoscan {

cv::Mat tensor_to_gray(const torch::Tensor& image, float lo, float hi) {
  torch::Tensor plane = image.detach().to(torch::kCPU, torch::kFloat32);
  if (plane.dim() == 3) plane = plane[0];
  TORCH_CHECK(plane.dim() == 2, "tensor_to_gray: expected [1, H, W] or [H, W], got ", image.sizes());
  plane = ((plane - lo) / (hi - lo) * 255.0).round().clamp(0, 255).to(torch::kUInt8).contiguous();
  cv::Mat gray(static_cast<int>(plane.size(0)), static_cast<int>(plane.size(1)), CV_8UC1,
               plane.data_ptr<uint8_t>());
  return gray.clone();
}

cv::Mat image_grid(const std::vector<cv::Mat>& tiles, int columns, int gap) {
  if (tiles.empty()) throw InputError("image grid", "no images");
  const cv::Size size = tiles.front().size();
  const int type = tiles.front().type();
  columns = std::max(1, std::min<int>(columns, static_cast<int>(tiles.size())));
  const int rows = (static_cast<int>(tiles.size()) + columns - 1) / columns;
  cv::Mat grid(rows * size.height + (rows - 1) * gap, columns * size.width + (columns - 1) * gap, type,
               cv::Scalar::all(0));
  for (size_t i = 0; i < tiles.size(); ++i) {
    if (tiles[i].size() != size || tiles[i].type() != type)
      throw InputError("image grid", "images differ in size or type");
    const int r = static_cast<int>(i) / columns, c = static_cast<int>(i) % columns;
    tiles[i].copyTo(grid(cv::Rect(c * (size.width + gap), r * (size.height + gap), size.width, size.height)));
  }
  return grid;
}

namespace {

// White text with a black outline, legible on any part of the JET map; sized to the tile.
void write_caption(cv::Mat& tile, const std::string& caption) {
  const double scale = std::max(0.25, tile.rows / 448.0);
  const int thickness = std::max(1, static_cast<int>(std::lround(2 * scale)));
  const cv::Point corner(std::max(1, tile.cols / 40), tile.rows - std::max(2, tile.rows / 30));
  cv::putText(tile, caption, corner, cv::FONT_HERSHEY_SIMPLEX, scale, cv::Scalar::all(0), thickness + 2,
              cv::LINE_AA);
  cv::putText(tile, caption, corner, cv::FONT_HERSHEY_SIMPLEX, scale, cv::Scalar::all(255), thickness,
              cv::LINE_AA);
}

}  // namespace

cv::Mat reconstruction_panel(const cv::Mat& original, const cv::Mat& reconstruction, double error_scale,
                             const std::string& caption) {
  CV_Assert(original.type() == CV_8UC1 && reconstruction.type() == CV_8UC1 &&
            original.size() == reconstruction.size());
  cv::Mat difference, scaled, error_map, left, middle;
  cv::absdiff(original, reconstruction, difference);
  difference.convertTo(scaled, CV_8U, 1.0 / error_scale);
  cv::applyColorMap(scaled, error_map, cv::COLORMAP_JET);
  if (!caption.empty()) write_caption(error_map, caption);
  cv::cvtColor(original, left, cv::COLOR_GRAY2BGR);
  cv::cvtColor(reconstruction, middle, cv::COLOR_GRAY2BGR);
  return image_grid({left, middle, error_map}, 3, 4);
}

std::string png_bytes(const cv::Mat& image, const std::string& name) {
  const std::vector<uint8_t> bytes = encode_image(image, ".png", name);
  return std::string(bytes.begin(), bytes.end());
}

}  // namespace pneumoscan
