#pragma once
// EfficientNet-B0 in torchvision's layout and names: features.0 stem
// (Conv2dNormActivation: features.0.0 conv, features.0.1 bn, SiLU),
// features.1..7 stages of MBConv blocks (`features.N.M.block.K...`: optional
// 1x1 expansion, depthwise conv, squeeze-excitation `fc1`/`fc2`, 1x1
// projection), features.8 1x1 conv to 1280, global average pool,
// classifier.0 (dropout 0.2) + classifier.1 (linear).
//
// Stochastic depth (torchvision: drop probability rising to 0.2 over the
// blocks, training only) is omitted: the residual branch is always kept, which
// is what torchvision computes at inference, so weights load and evaluate
// identically; only training regularisation differs.
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>

#include <vector>

#include "models/classifier.h"

namespace pneumoscan {

struct EfficientNetStage {
  int64_t expand_ratio, kernel, stride, in_channels, out_channels, num_layers;
};

struct EfficientNetOptions {
  std::vector<EfficientNetStage> stages;
  int64_t last_channel = 1280;
  double dropout = 0.2;
  int64_t in_channels = 1;
  int64_t num_classes = 2;
  const char* name = "efficientnet";
};

EfficientNetOptions efficientnet_b0_options();

class SqueezeExcitationImpl : public torch::nn::Module {
 public:
  SqueezeExcitationImpl(int64_t channels, int64_t squeeze_channels);
  torch::Tensor forward(torch::Tensor x);
  torch::nn::Conv2d fc1{nullptr}, fc2{nullptr};
};
TORCH_MODULE(SqueezeExcitation);

class MBConvImpl : public torch::nn::Module {
 public:
  MBConvImpl(const EfficientNetStage& stage, int64_t in, int64_t stride);
  torch::Tensor forward(torch::Tensor x);
  torch::nn::Sequential block{nullptr};
  const bool use_residual;
};
TORCH_MODULE(MBConv);

class EfficientNetImpl : public ClassifierImpl {
 public:
  explicit EfficientNetImpl(const EfficientNetOptions& options);
  // features.8's output, [N, 1280, H/32, W/32].
  torch::Tensor forward_features(torch::Tensor images) override;
  // global average pool, classifier (dropout, linear).
  torch::Tensor forward_head(torch::Tensor features) override;
  std::vector<torch::Tensor> head_parameters() override;

  const EfficientNetOptions options;
  torch::nn::Sequential features{nullptr};
  torch::nn::Sequential classifier{nullptr};
};

}  // namespace pneumoscan
