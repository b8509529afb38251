#pragma once
// VGG-16/19, with or without BatchNorm, in torchvision's layout: features.N
// with torchvision's conv/(bn)/relu/pool indices, avgpool 7x7, classifier
// 0/3/6 (Linear, ReLU, Dropout, Linear, ReLU, Dropout, Linear).
#include <torch/nn/modules/container/sequential.h>

#include <vector>

#include "models/classifier.h"

namespace pneumoscan {

struct VggOptions {
  std::vector<int64_t> config;  // output channels per 3x3 conv; 0 = max-pool 2/2
  bool batch_norm = false;
  int64_t in_channels = 1;
  int64_t num_classes = 2;
  double dropout = 0.5;
  const char* name = "vgg";
};

VggOptions vgg16_options(bool batch_norm);
VggOptions vgg19_options(bool batch_norm);

class VggImpl : public ClassifierImpl {
 public:
  explicit VggImpl(const VggOptions& options);
  // features' output (after the fifth max-pool), [N, 512, H/32, W/32].
  torch::Tensor forward_features(torch::Tensor images) override;
  // adaptive avg-pool 7x7, flatten, classifier.
  torch::Tensor forward_head(torch::Tensor features) override;
  std::vector<torch::Tensor> head_parameters() override;

  const VggOptions options;
  torch::nn::Sequential features{nullptr};
  torch::nn::Sequential classifier{nullptr};
};

}  // namespace pneumoscan
