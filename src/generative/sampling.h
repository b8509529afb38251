#pragma once
// Drawing images from a trained generator: a grid for a noise batch (the
// training run's per-epoch picture) and `gan sample`: N images for a seed,
// written as PNG files with a contact sheet and a description, the same
// files for the same seed on every run.
#include <torch/types.h>

#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "model_file/generative_file.h"

namespace pneumoscan {

// The generator's images (eval mode, no gradients) for `noise` [N, noise_dim] as 8-bit images.
std::vector<cv::Mat> generate_images(GeneratorImpl& generator, const torch::Tensor& noise,
                                     int batch_size = 64);

// generate_images in a square-ish grid (8 columns at most).
cv::Mat sample_grid(GeneratorImpl& generator, const torch::Tensor& noise);

struct WrittenSamples {
  std::vector<std::string> files;  // DIR/sample-00000.png, ...
  std::string contact_sheet;       // DIR/contact_sheet.png (the first 64 at most)
  std::string description;         // DIR/samples.json: model, checksum, class, seed, count, image size, files
};

// `n` images from seeded_noise(n, noise_dim, seed) (models/dcgan.h), written atomically into `dir` (created).
// UsageError for n < 1; IoError naming the file that cannot be written.
WrittenSamples write_samples(const LoadedGenerator& generator, const std::string& model_path, int n,
                             uint64_t seed, const std::string& dir);

// The class named in DIR/samples.json (NORMAL or PNEUMONIA), or "" when there is no such file.
std::string sampled_class(const std::string& dir);

}  // namespace pneumoscan
