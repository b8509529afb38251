#include "models/small_cnn.h"

#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/pooling.h>

namespace pneumoscan {
namespace nn = torch::nn;

SmallCnnImpl::SmallCnnImpl(const SmallCnnOptions& options_in) : options(options_in) {
  TORCH_CHECK(options.input_size % 32 == 0 && options.input_size >= 32,
              "small-cnn: input size must be a multiple of 32, got ", options.input_size);
  const int64_t widths[5] = {32, 64, 64, 128, 256};
  features = nn::Sequential();
  int64_t in = options.in_channels;
  for (int block = 0; block < 5; ++block) {
    features->push_back(nn::Conv2d(nn::Conv2dOptions(in, widths[block], 3).padding(1)));
    features->push_back(nn::BatchNorm2d(widths[block]));
    features->push_back(nn::ReLU(nn::ReLUOptions(true)));
    features->push_back(nn::MaxPool2d(nn::MaxPool2dOptions(2)));
    if (block > 0) features->push_back(nn::Dropout(options.dropout));
    in = widths[block];
  }
  const int64_t side = options.input_size / 32;
  classifier = nn::Sequential(nn::Flatten(), nn::Dropout(options.dropout), nn::Linear(256 * side * side, 512),
                              nn::ReLU(nn::ReLUOptions(true)), nn::Linear(512, options.num_outputs));
  register_module("features", features);
  register_module("classifier", classifier);
}

torch::Tensor SmallCnnImpl::forward_features(torch::Tensor images) {
  check_image_batch(images, options.in_channels, "small-cnn");
  return features->forward(images);
}

torch::Tensor SmallCnnImpl::forward_head(torch::Tensor x) {
  const int64_t side = options.input_size / 32;
  TORCH_CHECK(x.dim() == 4 && x.size(1) == 256 && x.size(2) == side && x.size(3) == side,
              "small-cnn head: expected [N, 256, ", side, ", ", side, "], got ", x.sizes(),
              " (input size differs from the model's ", options.input_size, ")");
  return classifier->forward(x);
}

std::vector<torch::Tensor> SmallCnnImpl::head_parameters() { return classifier->parameters(); }

}  // namespace pneumoscan
