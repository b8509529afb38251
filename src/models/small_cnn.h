#pragma once
// The seed study's small CNN: five conv blocks (3x3 same, 32-64-64-128-256
// filters, BatchNorm, ReLU, max-pool 2; dropout in blocks 2-5), then flatten,
// dropout, dense 512 + ReLU and the output layer. 128x128x1 input.
#include <torch/nn/modules/container/sequential.h>

#include <vector>

#include "models/classifier.h"

namespace pneumoscan {

struct SmallCnnOptions {
  int64_t input_size = 128;  // must be divisible by 32
  int64_t in_channels = 1;
  int64_t num_outputs = 1;  // 1 = the seed's single sigmoid; 2 = softmax
  double dropout = 0.2;
};

class SmallCnnImpl : public ClassifierImpl {
 public:
  explicit SmallCnnImpl(const SmallCnnOptions& options = {});
  torch::Tensor forward_features(torch::Tensor images) override;
  torch::Tensor forward_head(torch::Tensor features) override;
  std::vector<torch::Tensor> head_parameters() override;

  const SmallCnnOptions options;
  torch::nn::Sequential features{nullptr};
  torch::nn::Sequential classifier{nullptr};
};

}  // namespace pneumoscan
