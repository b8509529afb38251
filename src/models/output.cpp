#include "models/output.h"

#include <torch/torch.h>

namespace pneumoscan {

torch::Tensor pneumonia_probability(const torch::Tensor& logits) {
  TORCH_CHECK(logits.dim() == 2 && logits.size(1) >= 1, "pneumonia_probability: expected logits [N, K], got ",
              logits.sizes());
  if (logits.size(1) == 1) return torch::sigmoid(logits.squeeze(1).to(torch::kFloat32));
  if (logits.size(1) == 2) return torch::softmax(logits.to(torch::kFloat32), 1).select(1, 1);
  return 1 - torch::softmax(logits.to(torch::kFloat32), 1).select(1, 0);
}

torch::Tensor class_probabilities(const torch::Tensor& logits) {
  TORCH_CHECK(logits.dim() == 2 && logits.size(1) >= 1, "class_probabilities: expected logits [N, K], got ",
              logits.sizes());
  if (logits.size(1) == 1) {
    const torch::Tensor p = torch::sigmoid(logits.to(torch::kFloat32));
    return torch::cat({1 - p, p}, 1);
  }
  return torch::softmax(logits.to(torch::kFloat32), 1);
}

}  // namespace pneumoscan
