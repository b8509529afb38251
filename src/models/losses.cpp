#include "models/losses.h"

#include <torch/nn/functional/loss.h>

namespace pneumoscan {
namespace F = torch::nn::functional;

std::vector<double> class_weights_from_counts(const std::vector<int64_t>& counts) {
  TORCH_CHECK(counts.size() >= 2, "class weights: need at least two classes");
  double total = 0;
  for (size_t c = 0; c < counts.size(); ++c) {
    TORCH_CHECK(counts[c] > 0, "class weights: every class needs examples (class ", c, " has ", counts[c], ")");
    total += static_cast<double>(counts[c]);
  }
  std::vector<double> weights;
  for (int64_t n : counts) weights.push_back(total / (static_cast<double>(counts.size()) * n));
  return weights;
}

std::vector<double> class_weights_from_counts(int64_t normal, int64_t pneumonia) {
  return class_weights_from_counts(std::vector<int64_t>{normal, pneumonia});
}

torch::Tensor weighted_loss(const torch::Tensor& logits, const torch::Tensor& labels,
                            const std::vector<double>& class_weights, double label_smoothing) {
  const int64_t classes = static_cast<int64_t>(class_weights.size());
  TORCH_CHECK(logits.dim() == 2 && (logits.size(1) == 1 ? classes == 2 : logits.size(1) == classes) &&
                  labels.dim() == 1 && labels.size(0) == logits.size(0),
              "weighted_loss: logits ", logits.sizes(), ", labels ", labels.sizes(), " and ", classes,
              " class weights do not fit");
  TORCH_CHECK(label_smoothing >= 0 && label_smoothing < 1, "weighted_loss: label smoothing must lie in [0, 1)");
  const torch::Tensor weight_table = torch::tensor(class_weights, logits.options().dtype(torch::kFloat32));
  const torch::Tensor weights = weight_table.index_select(0, labels);
  torch::Tensor per_sample;
  if (logits.size(1) == 1) {
    const torch::Tensor target = labels.to(torch::kFloat32) * (1 - label_smoothing) + label_smoothing / 2;
    per_sample = F::binary_cross_entropy_with_logits(
        logits.squeeze(1).to(torch::kFloat32), target,
        F::BinaryCrossEntropyWithLogitsFuncOptions().reduction(torch::kNone));
  } else {
    per_sample = F::cross_entropy(logits.to(torch::kFloat32), labels,
                                  F::CrossEntropyFuncOptions().reduction(torch::kNone).label_smoothing(label_smoothing));
  }
  return (per_sample * weights).sum() / weights.sum();
}

}  // namespace pneumoscan
