#include "case/ood.h"

#include <algorithm>
#include <numeric>
#include <random>

#include "core/errors.h"

namespace pneumoscan {

torch::Tensor ood_scores(const torch::Tensor& embeddings, const torch::Tensor& reference, int k) {
  if (embeddings.dim() != 2 || reference.dim() != 2 || embeddings.size(1) != reference.size(1))
    throw UsageError("out-of-distribution score: embedding width " +
                     std::to_string(embeddings.dim() == 2 ? embeddings.size(1) : -1) +
                     " does not match the model's reference (" +
                     std::to_string(reference.dim() == 2 ? reference.size(1) : -1) + ")");
  if (k < 1 || k > reference.size(0))
    throw UsageError("out-of-distribution score: k must lie in [1, " + std::to_string(reference.size(0)) +
                     "]");
  c10::InferenceMode inference;
  const torch::Tensor similarity =
      torch::matmul(embeddings.to(torch::kFloat32), reference.to(torch::kFloat32).t());
  const torch::Tensor nearest = std::get<0>(similarity.topk(k, /*dim=*/1));
  return (1.0 - nearest.mean(1)).contiguous();
}

double quantile(std::vector<double> values, double q) {
  if (values.empty()) throw UsageError("quantile of no values");
  std::sort(values.begin(), values.end());
  const double position = std::clamp(q, 0.0, 1.0) * static_cast<double>(values.size() - 1);
  const size_t below = static_cast<size_t>(position);
  const size_t above = std::min(below + 1, values.size() - 1);
  return values[below] + (position - static_cast<double>(below)) * (values[above] - values[below]);
}

std::vector<int64_t> sample_indices(int64_t total, int64_t count, uint64_t seed) {
  std::vector<int64_t> indices(static_cast<size_t>(std::max<int64_t>(total, 0)));
  std::iota(indices.begin(), indices.end(), 0);
  if (count >= total) return indices;
  std::mt19937_64 random(seed);
  std::shuffle(indices.begin(), indices.end(), random);
  indices.resize(static_cast<size_t>(std::max<int64_t>(count, 0)));
  std::sort(indices.begin(), indices.end());
  return indices;
}

}  // namespace pneumoscan
