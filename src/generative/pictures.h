#pragma once
// The pictures the generative commands write: network output as 8-bit
// images, grids of samples (contact sheets), and the autoencoder's
// original | reconstruction | error map panels.
#include <torch/types.h>

#include <opencv2/core.hpp>
#include <string>
#include <vector>

namespace pneumoscan {

// One image [C=1, H, W] (or [H, W]) with values in [lo, hi] -> CV_8U, clamped.
cv::Mat tensor_to_gray(const torch::Tensor& image, float lo, float hi);

// Gray or BGR 8-bit tiles of one size in rows of `columns`, `gap` px apart on black. Throws
// InputError("image grid", ...) for no tiles or tiles of differing sizes.
cv::Mat image_grid(const std::vector<cv::Mat>& tiles, int columns, int gap = 2);

// original | reconstruction | |difference| as a JET colour map (0 -> dark
// blue, `error_scale` or more -> dark red), side by side, BGR, with
// `caption` (e.g. "MSE 0.0053") written in the error map's lower left
// corner when given. Both inputs CV_8U of one size.
cv::Mat reconstruction_panel(const cv::Mat& original, const cv::Mat& reconstruction,
                             double error_scale = 0.25, const std::string& caption = "");

// PNG bytes of an 8-bit image (IoError naming `name` when OpenCV cannot encode it).
std::string png_bytes(const cv::Mat& image, const std::string& name);

}  // namespace pneumoscan
