#pragma once
// AlexNet in torchvision's layout (features.0..12, avgpool 6x6, classifier.0..6
// with dropout), so torchvision state dicts load by name, and the seed study's
// reduced AlexNet (32-64-128 filters, dense 1024-512) in the same layout.
#include <torch/nn/modules/container/sequential.h>

#include <vector>

#include "models/classifier.h"

namespace pneumoscan {

struct AlexNetConv {
  int64_t out_channels, kernel, stride, padding;
  bool pool_after;  // ReLU is always applied; max-pool 3/2 after when set
};

struct AlexNetOptions {
  std::vector<AlexNetConv> convs;
  std::vector<int64_t> hidden;  // dense layers before the output layer
  int64_t in_channels = 1;
  int64_t num_classes = 2;
  double dropout = 0.5;
  const char* name = "alexnet";
};

// torchvision's alexnet: 64-192-384-256-256 convs, dense 4096-4096.
AlexNetOptions alexnet_options();
// The seed's reduced AlexNet: conv 11x11/4 32, 5x5 64, 3x3 128, each ReLU +
// max-pool 3/2, dense 1024-512. The seed gives no padding; padding 2, 2 and 1
// (torchvision's for the 11x11) keep a 224 input at 55-27-27-13-13-6, so the
// 6x6 adaptive pool sees the map it was meant for.
AlexNetOptions alexnet_small_options();

class AlexNetImpl : public ClassifierImpl {
 public:
  explicit AlexNetImpl(const AlexNetOptions& options);
  // features' output (after the last max-pool), [N, C, h, w].
  torch::Tensor forward_features(torch::Tensor images) override;
  // adaptive avg-pool 6x6, flatten, classifier.
  torch::Tensor forward_head(torch::Tensor features) override;
  std::vector<torch::Tensor> head_parameters() override;

  const AlexNetOptions options;
  torch::nn::Sequential features{nullptr};
  torch::nn::Sequential classifier{nullptr};
};

}  // namespace pneumoscan
