#include "models/autoencoder.h"

#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>

#include "models/classifier.h"

namespace pneumoscan {
namespace nn = torch::nn;

torch::nn::Sequential make_encoder(const AutoencoderOptions& options) {
  const int64_t stride_product = int64_t{1} << options.widths.size();
  TORCH_CHECK(!options.widths.empty() && options.input_size >= stride_product &&
                  options.input_size % stride_product == 0,
              "autoencoder: input size must be a multiple of ", stride_product, ", got ", options.input_size);
  nn::Sequential encoder;
  int64_t in = options.in_channels;
  for (int64_t width : options.widths) {
    encoder->push_back(nn::Conv2d(nn::Conv2dOptions(in, width, 3).stride(2).padding(1).bias(false)));
    encoder->push_back(nn::BatchNorm2d(width));
    encoder->push_back(nn::ReLU(nn::ReLUOptions(true)));
    in = width;
  }
  return encoder;
}

std::vector<int64_t> code_shape(const AutoencoderOptions& options) {
  const int64_t side = options.input_size >> options.widths.size();
  return {options.widths.back(), side, side};
}

AutoencoderImpl::AutoencoderImpl(const AutoencoderOptions& options_in) : options(options_in) {
  encoder = register_module("encoder", make_encoder(options));
  decoder = nn::Sequential();
  for (size_t i = options.widths.size(); i-- > 0;) {
    const int64_t in = options.widths[i];
    const bool last = i == 0;
    const int64_t out = last ? options.in_channels : options.widths[i - 1];
    decoder->push_back(nn::ConvTranspose2d(
        nn::ConvTranspose2dOptions(in, out, 3).stride(2).padding(1).output_padding(1).bias(last)));
    if (last) {
      decoder->push_back(nn::Sigmoid());
    } else {
      decoder->push_back(nn::BatchNorm2d(out));
      decoder->push_back(nn::ReLU(nn::ReLUOptions(true)));
    }
  }
  register_module("decoder", decoder);
}

torch::Tensor AutoencoderImpl::encode(const torch::Tensor& images) {
  check_image_batch(images, options.in_channels, "autoencoder");
  TORCH_CHECK(images.size(2) == options.input_size && images.size(3) == options.input_size,
              "autoencoder: expected ", options.input_size, "x", options.input_size, " images, got ",
              images.sizes());
  return encoder->forward(images);
}

torch::Tensor AutoencoderImpl::decode(const torch::Tensor& codes) {
  const auto shape = code_shape(options);
  TORCH_CHECK(
      codes.dim() == 4 && codes.size(1) == shape[0] && codes.size(2) == shape[1] && codes.size(3) == shape[2],
      "autoencoder decoder: expected [N, ", shape[0], ", ", shape[1], ", ", shape[2], "] codes, got ",
      codes.sizes());
  return decoder->forward(codes);
}

torch::Tensor reconstruction_error(const torch::Tensor& images, const torch::Tensor& reconstructions) {
  return (images - reconstructions).pow(2).flatten(1).mean(1);
}

}  // namespace pneumoscan
