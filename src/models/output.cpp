#include "models/output.h"

#include <torch/torch.h>

namespace pneumoscan {

torch::Tensor pneumonia_probability(const torch::Tensor& logits) {
  TORCH_CHECK(logits.dim() == 2 && (logits.size(1) == 1 || logits.size(1) == 2),
              "pneumonia_probability: expected logits [N, 1] or [N, 2], got ", logits.sizes());
  if (logits.size(1) == 1) return torch::sigmoid(logits.squeeze(1).to(torch::kFloat32));
  return torch::softmax(logits.to(torch::kFloat32), 1).select(1, 1);
}

}  // namespace pneumoscan
