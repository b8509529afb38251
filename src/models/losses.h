#pragma once
// Class-weighted losses for networks with one (sigmoid) or K >= 2 (softmax)
// outputs. What the outputs mean (P(pneumonia), class probabilities) is
// models/output.h.
#include <torch/types.h>

#include <vector>

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

// Structural similarity (Wang et al. 2004) of image batches [N, C, H, W] with
// values in [0, 1]: an 11x11 Gaussian window (sigma 1.5) per channel, valid
// positions only, C1 = 0.01^2, C2 = 0.03^2; the mean over positions, channels
// and images. 1 for identical images; differentiable (a reconstruction loss
// term: 1 - ssim). c10::Error unless both have one shape with H, W >= 11.
torch::Tensor ssim(const torch::Tensor& a, const torch::Tensor& b);

}  // namespace pneumoscan
