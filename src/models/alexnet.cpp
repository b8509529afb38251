#include "models/alexnet.h"

#include <torch/nn/functional/pooling.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/pooling.h>

namespace pneumoscan {
namespace nn = torch::nn;
namespace F = torch::nn::functional;

AlexNetOptions alexnet_options() {
  AlexNetOptions o;
  o.convs = {{64, 11, 4, 2, true},
             {192, 5, 1, 2, true},
             {384, 3, 1, 1, false},
             {256, 3, 1, 1, false},
             {256, 3, 1, 1, true}};
  o.hidden = {4096, 4096};
  o.name = "alexnet";
  return o;
}

AlexNetOptions alexnet_small_options() {
  AlexNetOptions o;
  o.convs = {{32, 11, 4, 2, true}, {64, 5, 1, 2, true}, {128, 3, 1, 1, true}};
  o.hidden = {1024, 512};
  o.name = "alexnet-small";
  return o;
}

AlexNetImpl::AlexNetImpl(const AlexNetOptions& options_in) : options(options_in) {
  TORCH_CHECK(!options.convs.empty(), options.name, ": no convolutions");
  features = nn::Sequential();
  int64_t in = options.in_channels;
  for (const AlexNetConv& c : options.convs) {
    features->push_back(
        nn::Conv2d(nn::Conv2dOptions(in, c.out_channels, c.kernel).stride(c.stride).padding(c.padding)));
    features->push_back(nn::ReLU(nn::ReLUOptions(true)));
    if (c.pool_after) features->push_back(nn::MaxPool2d(nn::MaxPool2dOptions(3).stride(2)));
    in = c.out_channels;
  }
  // torchvision: Dropout, Linear, ReLU for each hidden layer, then the output Linear.
  classifier = nn::Sequential();
  int64_t width = in * 6 * 6;
  for (int64_t hidden : options.hidden) {
    classifier->push_back(nn::Dropout(options.dropout));
    classifier->push_back(nn::Linear(width, hidden));
    classifier->push_back(nn::ReLU(nn::ReLUOptions(true)));
    width = hidden;
  }
  classifier->push_back(nn::Linear(width, options.num_classes));
  register_module("features", features);
  register_module("classifier", classifier);
  // torchvision keeps PyTorch's default initialisation for AlexNet, as LibTorch does.
}

torch::Tensor AlexNetImpl::forward_features(torch::Tensor images) {
  check_image_batch(images, options.in_channels, options.name);
  return features->forward(images);
}

torch::Tensor AlexNetImpl::forward_head(torch::Tensor x) {
  const int64_t channels = options.convs.back().out_channels;
  TORCH_CHECK(x.dim() == 4 && x.size(1) == channels, options.name, " head: expected [N, ", channels,
              ", h, w], got ", x.sizes());
  x = F::adaptive_avg_pool2d(x, F::AdaptiveAvgPool2dFuncOptions(6)).flatten(1);
  return classifier->forward(x);
}

std::vector<torch::Tensor> AlexNetImpl::head_parameters() { return classifier->parameters(); }

}  // namespace pneumoscan
