#include "models/nested_sequential.h"

namespace pneumoscan {

torch::Tensor NestedSequentialImpl::forward(torch::Tensor x) {
  if (skipped_.empty()) return SequentialImpl::forward(std::move(x));
  size_t position = 0;
  for (torch::nn::AnyModule& module : *this)
    if (!skipped_[position++]) x = module.forward<torch::Tensor>(std::move(x));
  return x;
}

int64_t NestedSequentialImpl::fold_batch_norm() {
  const size_t n = size();
  if (skipped_.empty()) skipped_.assign(n, false);
  int64_t folded = 0;
  for (size_t i = 0; i + 1 < n; ++i) {
    auto* conv = ptr(i)->as<torch::nn::Conv2d>();
    auto* bn = ptr(i + 1)->as<torch::nn::BatchNorm2d>();
    if (conv == nullptr || bn == nullptr || skipped_[i + 1]) continue;
    fold_into_convolution(*conv, *bn);
    skipped_[i + 1] = true;
    ++folded;
  }
  return folded;
}

}  // namespace pneumoscan
