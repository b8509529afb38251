#include "models/batch_norm_fold.h"

#include <torch/torch.h>

namespace pneumoscan {

void fold_into_convolution(torch::nn::Conv2dImpl& conv, const torch::nn::BatchNorm2dImpl& bn) {
  TORCH_CHECK(!bn.is_training(), "fold_batch_norm: BatchNorm is in training mode");
  TORCH_CHECK(bn.running_mean.defined() && bn.running_var.defined(),
              "fold_batch_norm: BatchNorm without running statistics");
  const int64_t channels = conv.weight.size(0);
  TORCH_CHECK(bn.running_mean.numel() == channels, "fold_batch_norm: convolution has ", channels,
              " output channels, BatchNorm ", bn.running_mean.numel());
  torch::NoGradGuard no_grad;
  torch::Tensor scale = (bn.running_var + bn.options.eps()).rsqrt();
  torch::Tensor shift = -bn.running_mean * scale;
  if (bn.options.affine()) {
    scale = scale * bn.weight;
    shift = shift * bn.weight + bn.bias;
  }
  // In place: the weight keeps its memory format (channels-last stays).
  conv.weight.mul_(scale.reshape({channels, 1, 1, 1}));
  // The registered "bias" stays as it was (undefined for bias-free
  // convolutions); forward reads the member.
  conv.bias = conv.bias.defined() ? conv.bias * scale + shift : shift.clone();
}

int64_t fold_batch_norm(torch::nn::Module& net) {
  TORCH_CHECK(!net.is_training(), "fold_batch_norm: the network must be in eval mode");
  int64_t folded = 0;
  for (const std::shared_ptr<torch::nn::Module>& module : net.modules(/*include_self=*/true))
    if (auto* foldable = dynamic_cast<BatchNormFoldable*>(module.get()))
      folded += foldable->fold_batch_norm();
  return folded;
}

}  // namespace pneumoscan
