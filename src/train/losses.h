#pragma once
// Class-weighted losses for networks with one (sigmoid) or two (softmax)
// outputs. What the outputs mean (P(pneumonia)) is models/output.h.
#include <array>
#include <vector>

#include <torch/types.h>

namespace pneumoscan {

// Weights w_c = N / (K * n_c) from class counts, so each class contributes
// equally to the loss (the data set is about 3:1 pneumonia:normal).
std::array<double, 2> class_weights_from_counts(int64_t normal, int64_t pneumonia);

// Weighted mean loss: sum_i w[y_i] * loss_i / sum_i w[y_i]. logits [N, 1] or [N, 2], labels int64 [N].
torch::Tensor weighted_loss(const torch::Tensor& logits, const torch::Tensor& labels,
                            const std::array<double, 2>& class_weights);

}  // namespace pneumoscan
