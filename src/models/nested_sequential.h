#pragma once
// nn::Sequential with a plain `Tensor forward(Tensor)`, so that it can sit
// inside another Sequential (LibTorch's AnyModule cannot hold Sequential's
// templated forward). It is what torchvision's nested nn.Sequential blocks
// map to: features.0 = NestedSequential(conv, bn, relu) names its parameters
// features.0.0.weight, features.0.1.running_mean, ...
#include <torch/nn/modules/container/sequential.h>

namespace pneumoscan {

class NestedSequentialImpl : public torch::nn::SequentialImpl {
 public:
  using SequentialImpl::SequentialImpl;
  torch::Tensor forward(torch::Tensor x) { return SequentialImpl::forward(std::move(x)); }
};
TORCH_MODULE(NestedSequential);

}  // namespace pneumoscan
