#pragma once
// What the autoencoder makes of images: reconstructions and their mean
// squared error per image (in [0, 1] pixel units), the measure used both to
// watch training and as an out-of-distribution score (an image unlike the
// training X-rays reconstructs worse).
#include <torch/types.h>

#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "image/preprocess.h"
#include "models/autoencoder.h"

namespace pneumoscan {

// Model-size 8-bit images (resize_for_model's output) -> the normalised batch [N, C, S, S].
torch::Tensor images_to_batch(const std::vector<cv::Mat>& images, const PreprocessConfig& preprocess);

struct Reconstruction {
  cv::Mat original;        // CV_8U, model size
  cv::Mat reconstruction;  // CV_8U, model size
  double mse = 0;          // mean squared error in [0, 1] pixel units
};

// Runs the autoencoder (eval mode, no gradients) over model-size 8-bit images in batches of `batch_size`.
std::vector<Reconstruction> reconstruct(AutoencoderImpl& net, const PreprocessConfig& preprocess,
                                        const std::vector<cv::Mat>& images, int batch_size = 16);

// Decodes `path` (PNG, JPEG, DICOM) and reconstructs it; InputError naming the file when it cannot be read.
Reconstruction reconstruct_file(AutoencoderImpl& net, const PreprocessConfig& preprocess,
                                const std::string& path);

}  // namespace pneumoscan
