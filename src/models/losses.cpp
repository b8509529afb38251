#include "models/losses.h"

#include <torch/nn/functional/conv.h>
#include <torch/nn/functional/loss.h>

namespace pneumoscan {
namespace F = torch::nn::functional;

std::vector<double> class_weights_from_counts(const std::vector<int64_t>& counts) {
  TORCH_CHECK(counts.size() >= 2, "class weights: need at least two classes");
  double total = 0;
  for (size_t c = 0; c < counts.size(); ++c) {
    TORCH_CHECK(counts[c] > 0, "class weights: every class needs examples (class ", c, " has ", counts[c],
                ")");
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
  TORCH_CHECK(label_smoothing >= 0 && label_smoothing < 1,
              "weighted_loss: label smoothing must lie in [0, 1)");
  const torch::Tensor weight_table = torch::tensor(class_weights, logits.options().dtype(torch::kFloat32));
  const torch::Tensor weights = weight_table.index_select(0, labels);
  torch::Tensor per_sample;
  if (logits.size(1) == 1) {
    const torch::Tensor target = labels.to(torch::kFloat32) * (1 - label_smoothing) + label_smoothing / 2;
    per_sample = F::binary_cross_entropy_with_logits(
        logits.squeeze(1).to(torch::kFloat32), target,
        F::BinaryCrossEntropyWithLogitsFuncOptions().reduction(torch::kNone));
  } else {
    per_sample = F::cross_entropy(
        logits.to(torch::kFloat32), labels,
        F::CrossEntropyFuncOptions().reduction(torch::kNone).label_smoothing(label_smoothing));
  }
  return (per_sample * weights).sum() / weights.sum();
}

torch::Tensor ssim(const torch::Tensor& a, const torch::Tensor& b) {
  TORCH_CHECK(a.sizes() == b.sizes() && a.dim() == 4 && a.size(2) >= 11 && a.size(3) >= 11,
              "ssim: expected two [N, C, H >= 11, W >= 11] batches of one shape, got ", a.sizes(), " and ",
              b.sizes());
  namespace F = torch::nn::functional;
  const int64_t channels = a.size(1);
  const torch::Tensor offsets = torch::arange(11, a.options()) - 5;
  torch::Tensor window = torch::exp(-offsets.pow(2) / (2 * 1.5 * 1.5));
  window = window / window.sum();
  const torch::Tensor kernel = window.outer(window).expand({channels, 1, 11, 11}).contiguous();
  const auto blur = [&](const torch::Tensor& x) {
    return F::conv2d(x, kernel, F::Conv2dFuncOptions().groups(channels));
  };
  constexpr double c1 = 0.01 * 0.01, c2 = 0.03 * 0.03;
  const torch::Tensor mean_a = blur(a), mean_b = blur(b);
  const torch::Tensor var_a = blur(a * a) - mean_a.pow(2), var_b = blur(b * b) - mean_b.pow(2);
  const torch::Tensor cov = blur(a * b) - mean_a * mean_b;
  const torch::Tensor map = ((2 * mean_a * mean_b + c1) * (2 * cov + c2)) /
                            ((mean_a.pow(2) + mean_b.pow(2) + c1) * (var_a + var_b + c2));
  return map.mean();
}

}  // namespace pneumoscan
