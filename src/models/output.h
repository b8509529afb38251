#pragma once
// What a classifier's logits mean, for networks with one (sigmoid) or K >= 2
// (softmax) outputs. Class 0 is NORMAL; every other class is a kind of
// pneumonia, so P(pneumonia) = 1 - P(NORMAL). Every layer that reads a
// network's output (training, evaluation, inference, explanation) reads it here.
#include <torch/types.h>

namespace pneumoscan {

// P(pneumonia) [N] from logits [N, 1] (sigmoid) or [N, K >= 2] (1 - softmax
// class 0). Throws c10::Error for other shapes.
torch::Tensor pneumonia_probability(const torch::Tensor& logits);

// Class probabilities [N, K] (for one output: [1 - p, p]). Throws c10::Error for other shapes.
torch::Tensor class_probabilities(const torch::Tensor& logits);

}  // namespace pneumoscan
