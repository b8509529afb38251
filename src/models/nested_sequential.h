#pragma once
// nn::Sequential with a plain `Tensor forward(Tensor)`, so that it can sit
// inside another Sequential (LibTorch's AnyModule cannot hold Sequential's
// templated forward). It is what torchvision's nested nn.Sequential blocks
// map to: features.0 = NestedSequential(conv, bn, relu) names its parameters
// features.0.0.weight, features.0.1.running_mean, ...
//
// For inference its (Conv2d, BatchNorm2d) neighbours can be folded
// (models/batch_norm_fold.h): the BatchNorm entries are then skipped.
#include <torch/nn/modules/container/sequential.h>

#include <vector>

#include "models/batch_norm_fold.h"

namespace pneumoscan {

class NestedSequentialImpl : public torch::nn::SequentialImpl, public BatchNormFoldable {
 public:
  using SequentialImpl::SequentialImpl;
  torch::Tensor forward(torch::Tensor x);
  int64_t fold_batch_norm() override;

 private:
  std::vector<bool> skipped_;  // by position; empty until folded
};
TORCH_MODULE(NestedSequential);

}  // namespace pneumoscan
