#pragma once
// DCGAN (Radford et al., 2016) for gray X-rays: a generator from a noise
// vector to an image through transposed convolutions (BatchNorm + ReLU, tanh
// output in [-1, 1]) and a discriminator of strided convolutions (LeakyReLU
// 0.2, BatchNorm except the first and last layer) giving one logit per
// image, for BCE-with-logits. 64x64 as in the paper, or 128x128 with one
// more stage each. Weights start as the paper says: N(0, 0.02), BatchNorm
// weights N(1, 0.02), biases 0 (init_dcgan_weights).
#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>

namespace pneumoscan {

struct DcganOptions {
  int64_t image_size = 64;  // 64 or 128 (any power of two >= 16)
  int64_t noise_dim = 100;
  int64_t width = 64;  // ngf = ndf: filters of the stage nearest the image
  int64_t channels = 1;
};

// Throws UsageError for a size that is not a power of two >= 16, or a non-positive width or noise size.
void check_dcgan_options(const DcganOptions& options);

class GeneratorImpl : public torch::nn::Module {
 public:
  explicit GeneratorImpl(const DcganOptions& options = {});
  // [N, noise_dim] (or [N, noise_dim, 1, 1]) -> [N, channels, size, size] in [-1, 1].
  torch::Tensor forward(const torch::Tensor& noise);

  const DcganOptions options;
  torch::nn::Sequential net{nullptr};
};
TORCH_MODULE(Generator);

class DiscriminatorImpl : public torch::nn::Module {
 public:
  explicit DiscriminatorImpl(const DcganOptions& options = {});
  // [N, channels, size, size] in [-1, 1] -> logits [N] (real > 0).
  torch::Tensor forward(const torch::Tensor& images);

  const DcganOptions options;
  torch::nn::Sequential net{nullptr};
};
TORCH_MODULE(Discriminator);

// The DCGAN paper's initialisation over every (transposed) convolution and BatchNorm of `module`.
void init_dcgan_weights(torch::nn::Module& module);

// Standard normal noise [n, noise_dim] from its own generator seeded with
// `seed`: the same seed gives the same noise on every run and machine.
torch::Tensor seeded_noise(int64_t n, int64_t noise_dim, uint64_t seed);

}  // namespace pneumoscan
