#pragma once
// The seed study's convolutional autoencoder: an encoder of four stride-2
// 3x3 convolutions (1 -> 32 -> 64 -> 128 -> 256 channels, BatchNorm, ReLU;
// 224 -> 14 px) and a mirrored transposed-convolution decoder back to the
// input size, with a sigmoid output: it reconstructs [0, 1] pixels and is
// trained with MSE. The encoder is built by make_encoder, so the latent CNN
// (models/latent_cnn.h) carries the same layer names and takes its weights.
#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>

#include <vector>

namespace pneumoscan {

struct AutoencoderOptions {
  int64_t input_size = 224;  // multiple of 2^widths.size() (16)
  int64_t in_channels = 1;
  std::vector<int64_t> widths = {32, 64, 128, 256};
};

// Conv(k3, s2, p1, no bias)-BN-ReLU per width. Throws c10::Error for an
// input size that the strides do not divide.
torch::nn::Sequential make_encoder(const AutoencoderOptions& options);

// The code's shape for one image: {widths.back(), input_size / 2^n, same}.
std::vector<int64_t> code_shape(const AutoencoderOptions& options);

class AutoencoderImpl : public torch::nn::Module {
 public:
  explicit AutoencoderImpl(const AutoencoderOptions& options = {});
  // [N, C, S, S] -> [N, 256, S/16, S/16]; throws c10::Error naming the module for another shape.
  torch::Tensor encode(const torch::Tensor& images);
  // Codes -> [N, C, S, S] in [0, 1].
  torch::Tensor decode(const torch::Tensor& codes);
  torch::Tensor forward(const torch::Tensor& images) { return decode(encode(images)); }

  const AutoencoderOptions options;
  torch::nn::Sequential encoder{nullptr};
  torch::nn::Sequential decoder{nullptr};
};
TORCH_MODULE(Autoencoder);

// Mean squared reconstruction error per image ([N]).
torch::Tensor reconstruction_error(const torch::Tensor& images, const torch::Tensor& reconstructions);

}  // namespace pneumoscan
