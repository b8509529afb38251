#pragma once
// Class-weighted losses for networks with one (sigmoid) or K >= 2 (softmax)
// outputs. What the outputs mean (P(pneumonia), class probabilities) is
// models/output.h.
#include <vector>

#include <torch/types.h>

namespace pneumoscan {

// Weights w_c = N / (K * n_c) from class counts, so each class contributes
// equally to the loss (the data set is about 3:1 pneumonia:normal). Every
// count must be positive (c10::Error otherwise).
std::vector<double> class_weights_from_counts(const std::vector<int64_t>& counts);
std::vector<double> class_weights_from_counts(int64_t normal, int64_t pneumonia);

// Weighted mean loss: sum_i w[y_i] * loss_i / sum_i w[y_i]. logits [N, 1]
// (binary, sigmoid) or [N, K] (softmax over K = class_weights.size() classes),
// labels int64 [N] in [0, K). `label_smoothing` in [0, 1) mixes the one-hot
// target with the uniform one (Szegedy et al.); 0 = plain cross-entropy.
torch::Tensor weighted_loss(const torch::Tensor& logits, const torch::Tensor& labels,
                            const std::vector<double>& class_weights, double label_smoothing = 0.0);

}  // namespace pneumoscan
