#pragma once
// The out-of-distribution score of the intended-use gate: how far an image's
// embedding (search/embedding.h: the network's pooled last feature map, unit
// length) lies from the training X-rays, as the mean cosine distance to its k
// nearest reference embeddings (Sun et al., "Out-of-distribution detection
// with deep nearest neighbors", ICML 2022). The references are a sample of
// training embeddings stored in the model file; the limit is the score that
// `pass_rate` of validation X-rays stay at or below.
#include <torch/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace pneumoscan {

// Mean cosine distance (1 - similarity) of each row of `embeddings` [M, D] to
// its `k` nearest rows of `reference` [N, D]; both unit rows. [M] float32.
// Throws UsageError for mismatched widths or k outside [1, N].
torch::Tensor ood_scores(const torch::Tensor& embeddings, const torch::Tensor& reference, int k);

// The q-quantile (0..1, linear interpolation) of `values`; UsageError when empty.
double quantile(std::vector<double> values, double q);

// Evenly spread, seeded choice of `count` of `total` indices (all when count >= total), sorted.
std::vector<int64_t> sample_indices(int64_t total, int64_t count, uint64_t seed);

}  // namespace pneumoscan
