#pragma once
// What a classifier's logits mean: the probability of pneumonia, for networks
// with one (sigmoid) or two (softmax) outputs. Every layer that reads a
// network's output (training, evaluation, inference, explanation) reads it here.
#include <torch/types.h>

namespace pneumoscan {

// P(pneumonia) [N] from logits [N, 1] (sigmoid) or [N, 2] (softmax).
// Throws c10::Error for any other shape.
torch::Tensor pneumonia_probability(const torch::Tensor& logits);

}  // namespace pneumoscan
