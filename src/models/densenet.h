#pragma once
// DenseNet-121 in torchvision's layout and names: features.{conv0, norm0,
// relu0, pool0}, features.denseblockN.denselayerM.{norm1, relu1, conv1, norm2,
// relu2, conv2}, features.transitionN.{norm, relu, conv, pool}, features.norm5,
// then ReLU, global average pool and `classifier`.
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>

#include <vector>

#include "models/classifier.h"

namespace pneumoscan {

struct DenseNetOptions {
  int64_t growth_rate = 32;
  std::vector<int64_t> block_config = {6, 12, 24, 16};
  int64_t num_init_features = 64;
  int64_t bn_size = 4;
  double drop_rate = 0.0;  // dropout after each dense layer (torchvision's default 0)
  int64_t in_channels = 1;
  int64_t num_classes = 2;
};

DenseNetOptions densenet121_options();

class DenseLayerImpl : public torch::nn::Module {
 public:
  DenseLayerImpl(int64_t in, int64_t growth_rate, int64_t bn_size, double drop_rate);
  // The concatenation of all previous feature maps -> growth_rate new channels.
  torch::Tensor forward(torch::Tensor x);
  torch::nn::BatchNorm2d norm1{nullptr}, norm2{nullptr};
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr};
  double drop_rate;
};
TORCH_MODULE(DenseLayer);

class DenseBlockImpl : public torch::nn::Module {
 public:
  DenseBlockImpl(int64_t num_layers, int64_t in, int64_t growth_rate, int64_t bn_size, double drop_rate);
  torch::Tensor forward(torch::Tensor x);
  std::vector<DenseLayer> layers;  // registered as denselayer1..N
};
TORCH_MODULE(DenseBlock);

class DenseNetImpl : public ClassifierImpl {
 public:
  explicit DenseNetImpl(const DenseNetOptions& options);
  // ReLU(features(x)): norm5 followed by the ReLU torchvision applies in forward.
  torch::Tensor forward_features(torch::Tensor images) override;
  // global average pool, classifier.
  torch::Tensor forward_head(torch::Tensor features) override;
  std::vector<torch::Tensor> head_parameters() override;

  const DenseNetOptions options;
  torch::nn::Sequential features{nullptr};
  torch::nn::Linear classifier{nullptr};
};

}  // namespace pneumoscan
