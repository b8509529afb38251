#pragma once
// GoogLeNet (Inception v1) in torchvision's layout and names: BasicConv2d
// (conv without bias + BatchNorm eps 0.001 + ReLU) as `conv1.conv`/`conv1.bn`,
// inception3a..5b with branch1..branch4 (branch3 uses a 3x3 convolution, as
// torchvision does, not the paper's 5x5), global average pool, dropout 0.2,
// `fc`. No auxiliary heads and no transform_input (that is for torchvision's
// ImageNet weights only).
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>

#include <vector>

#include "models/classifier.h"

namespace pneumoscan {

struct GoogLeNetOptions {
  int64_t in_channels = 1;
  int64_t num_classes = 2;
  double dropout = 0.2;
};

class BasicConv2dImpl : public torch::nn::Module {
 public:
  BasicConv2dImpl(int64_t in, int64_t out, int64_t kernel, int64_t stride = 1, int64_t padding = 0);
  torch::Tensor forward(torch::Tensor x);
  torch::nn::Conv2d conv{nullptr};
  torch::nn::BatchNorm2d bn{nullptr};
};
TORCH_MODULE(BasicConv2d);

class InceptionImpl : public torch::nn::Module {
 public:
  InceptionImpl(int64_t in, int64_t ch1x1, int64_t ch3x3red, int64_t ch3x3, int64_t ch5x5red, int64_t ch5x5,
                int64_t pool_proj);
  torch::Tensor forward(torch::Tensor x);
  int64_t out_channels() const { return out_channels_; }
  BasicConv2d branch1{nullptr};
  torch::nn::Sequential branch2{nullptr}, branch3{nullptr}, branch4{nullptr};

 private:
  int64_t in_channels_, out_channels_;
};
TORCH_MODULE(Inception);

class GoogLeNetImpl : public ClassifierImpl {
 public:
  explicit GoogLeNetImpl(const GoogLeNetOptions& options);
  // inception5b's output, [N, 1024, h, w].
  torch::Tensor forward_features(torch::Tensor images) override;
  // global average pool, dropout, fc.
  torch::Tensor forward_head(torch::Tensor features) override;
  std::vector<torch::Tensor> head_parameters() override;

  const GoogLeNetOptions options;
  BasicConv2d conv1{nullptr}, conv2{nullptr}, conv3{nullptr};
  Inception inception3a{nullptr}, inception3b{nullptr}, inception4a{nullptr}, inception4b{nullptr},
      inception4c{nullptr}, inception4d{nullptr}, inception4e{nullptr}, inception5a{nullptr},
      inception5b{nullptr};
  torch::nn::Dropout dropout{nullptr};
  torch::nn::Linear fc{nullptr};
};

}  // namespace pneumoscan
