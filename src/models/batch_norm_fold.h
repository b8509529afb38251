#pragma once
// BatchNorm folded into the convolution before it, for inference: in eval mode
// BN(conv(x)) = conv'(x) with w' = w * s, b' = (b - mean) * s + beta, where
// s = gamma / sqrt(var + eps), so the BatchNorm pass over every activation
// (a full read and write of the feature map) disappears. Only for networks that
// are used for inference afterwards: a folded network must not be trained,
// saved or fingerprinted (its convolutions carry the BN statistics; the BN
// modules keep theirs, unused).
#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>

#include <cstdint>

namespace pneumoscan {

// Implemented by modules whose forward runs (convolution, BatchNorm) pairs:
// fold them and skip the BatchNorm from then on; returns the pairs folded.
class BatchNormFoldable {
 public:
  virtual int64_t fold_batch_norm() = 0;

 protected:
  ~BatchNormFoldable() = default;
};

// Folds `bn` (eval statistics) into `conv`. Throws c10::Error when the
// channel counts differ or `bn` has no running statistics or is in training mode.
void fold_into_convolution(torch::nn::Conv2dImpl& conv, const torch::nn::BatchNorm2dImpl& bn);

// Runs `bn` unless it was folded.
inline torch::Tensor batch_norm_unless_folded(bool folded, torch::nn::BatchNorm2d& bn, torch::Tensor x) {
  return folded ? x : bn->forward(x);
}

// Folds every pair of `net` (every BatchNormFoldable module in it, at any
// depth); `net` must be in eval mode. Returns the number of pairs folded.
int64_t fold_batch_norm(torch::nn::Module& net);

}  // namespace pneumoscan
