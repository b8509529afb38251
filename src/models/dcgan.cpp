#include "models/dcgan.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/nn/init.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/torch.h>

#include "core/errors.h"

namespace pneumoscan {
namespace nn = torch::nn;
namespace {

// Upsampling (generator) or downsampling (discriminator) stages between 4x4 and the image size.
int64_t stages(const DcganOptions& options) {
  int64_t n = 0;
  for (int64_t side = options.image_size; side > 4; side /= 2) ++n;
  return n;
}

}  // namespace

void check_dcgan_options(const DcganOptions& o) {
  if (o.image_size < 16 || (o.image_size & (o.image_size - 1)) != 0)
    throw UsageError("DCGAN image size must be a power of two >= 16 (64, 128), got " +
                     std::to_string(o.image_size));
  if (o.width <= 0 || o.noise_dim <= 0 || (o.channels != 1 && o.channels != 3))
    throw UsageError("DCGAN width and noise size must be positive and channels 1 or 3");
}

GeneratorImpl::GeneratorImpl(const DcganOptions& options_in) : options(options_in) {
  check_dcgan_options(options);
  const int64_t n = stages(options);
  int64_t filters = options.width << (n - 1);
  net = nn::Sequential();
  net->push_back(nn::ConvTranspose2d(nn::ConvTranspose2dOptions(options.noise_dim, filters, 4).bias(false)));
  net->push_back(nn::BatchNorm2d(filters));
  net->push_back(nn::ReLU(nn::ReLUOptions(true)));
  for (int64_t i = 1; i < n; ++i) {
    net->push_back(nn::ConvTranspose2d(
        nn::ConvTranspose2dOptions(filters, filters / 2, 4).stride(2).padding(1).bias(false)));
    net->push_back(nn::BatchNorm2d(filters / 2));
    net->push_back(nn::ReLU(nn::ReLUOptions(true)));
    filters /= 2;
  }
  net->push_back(nn::ConvTranspose2d(
      nn::ConvTranspose2dOptions(filters, options.channels, 4).stride(2).padding(1).bias(false)));
  net->push_back(nn::Tanh());
  register_module("net", net);
  init_dcgan_weights(*this);
}

torch::Tensor GeneratorImpl::forward(const torch::Tensor& noise) {
  TORCH_CHECK((noise.dim() == 2 || noise.dim() == 4) && noise.size(1) == options.noise_dim,
              "generator: expected noise [N, ", options.noise_dim, "], got ", noise.sizes());
  return net->forward(noise.dim() == 2 ? noise.view({noise.size(0), options.noise_dim, 1, 1}) : noise);
}

DiscriminatorImpl::DiscriminatorImpl(const DcganOptions& options_in) : options(options_in) {
  check_dcgan_options(options);
  const int64_t n = stages(options);
  int64_t filters = options.width;
  net = nn::Sequential();
  net->push_back(
      nn::Conv2d(nn::Conv2dOptions(options.channels, filters, 4).stride(2).padding(1).bias(false)));
  net->push_back(nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.2).inplace(true)));
  for (int64_t i = 1; i < n; ++i) {
    net->push_back(nn::Conv2d(nn::Conv2dOptions(filters, filters * 2, 4).stride(2).padding(1).bias(false)));
    net->push_back(nn::BatchNorm2d(filters * 2));
    net->push_back(nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.2).inplace(true)));
    filters *= 2;
  }
  net->push_back(nn::Conv2d(nn::Conv2dOptions(filters, 1, 4).bias(false)));
  register_module("net", net);
  init_dcgan_weights(*this);
}

torch::Tensor DiscriminatorImpl::forward(const torch::Tensor& images) {
  TORCH_CHECK(images.dim() == 4 && images.size(1) == options.channels &&
                  images.size(2) == options.image_size && images.size(3) == options.image_size,
              "discriminator: expected [N, ", options.channels, ", ", options.image_size, ", ",
              options.image_size, "], got ", images.sizes());
  return net->forward(images).view({-1});
}

void init_dcgan_weights(torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  for (auto& m : module.modules(/*include_self=*/false)) {
    if (auto* conv = m->as<nn::Conv2d>()) {
      nn::init::normal_(conv->weight, 0.0, 0.02);
    } else if (auto* deconv = m->as<nn::ConvTranspose2d>()) {
      nn::init::normal_(deconv->weight, 0.0, 0.02);
    } else if (auto* bn = m->as<nn::BatchNorm2d>()) {
      nn::init::normal_(bn->weight, 1.0, 0.02);
      nn::init::zeros_(bn->bias);
    }
  }
}

torch::Tensor seeded_noise(int64_t n, int64_t noise_dim, uint64_t seed) {
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  return torch::randn({n, noise_dim}, generator, torch::TensorOptions().dtype(torch::kFloat32));
}

}  // namespace pneumoscan
