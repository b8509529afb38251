#include "train/losses.h"

#include <torch/nn/functional/loss.h>

namespace pneumoscan {
namespace F = torch::nn::functional;

std::array<double, 2> class_weights_from_counts(int64_t normal, int64_t pneumonia) {
  TORCH_CHECK(normal > 0 && pneumonia > 0, "class weights: both classes need examples (normal ", normal,
              ", pneumonia ", pneumonia, ")");
  const double total = static_cast<double>(normal + pneumonia);
  return {total / (2.0 * normal), total / (2.0 * pneumonia)};
}

torch::Tensor weighted_loss(const torch::Tensor& logits, const torch::Tensor& labels,
                            const std::array<double, 2>& class_weights) {
  TORCH_CHECK(logits.dim() == 2 && (logits.size(1) == 1 || logits.size(1) == 2) && labels.dim() == 1 &&
                  labels.size(0) == logits.size(0),
              "weighted_loss: logits ", logits.sizes(), " and labels ", labels.sizes(), " do not fit");
  const torch::Tensor weight_table =
      torch::tensor({class_weights[0], class_weights[1]}, logits.options().dtype(torch::kFloat32));
  const torch::Tensor weights = weight_table.index_select(0, labels);
  torch::Tensor per_sample;
  if (logits.size(1) == 1) {
    per_sample = F::binary_cross_entropy_with_logits(
        logits.squeeze(1).to(torch::kFloat32), labels.to(torch::kFloat32),
        F::BinaryCrossEntropyWithLogitsFuncOptions().reduction(torch::kNone));
  } else {
    per_sample =
        F::cross_entropy(logits.to(torch::kFloat32), labels, F::CrossEntropyFuncOptions().reduction(torch::kNone));
  }
  return (per_sample * weights).sum() / weights.sum();
}

}  // namespace pneumoscan
