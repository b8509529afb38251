#include "models/latent_cnn.h"

#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/pooling.h>

namespace pneumoscan {
namespace nn = torch::nn;

AutoencoderOptions encoder_options(const LatentCnnOptions& options) {
  AutoencoderOptions encoder;
  encoder.input_size = options.input_size;
  encoder.in_channels = options.in_channels;
  return encoder;
}

LatentCnnImpl::LatentCnnImpl(const LatentCnnOptions& options_in) : options(options_in) {
  const AutoencoderOptions codes = encoder_options(options);
  TORCH_CHECK(options.input_size % 32 == 0, "latent-cnn: input size must be a multiple of 32, got ",
              options.input_size);
  encoder = register_module("encoder", make_encoder(codes));
  for (auto& p : encoder->parameters()) p.set_requires_grad(false);  // the autoencoder's, never trained here
  const int64_t w = options.width;
  latent = nn::Sequential(nn::Conv2d(nn::Conv2dOptions(code_shape(codes)[0], w, 3).padding(1).bias(false)),
                          nn::BatchNorm2d(w), nn::ReLU(nn::ReLUOptions(true)),
                          nn::MaxPool2d(nn::MaxPool2dOptions(2)),
                          nn::Conv2d(nn::Conv2dOptions(w, w, 3).padding(1).bias(false)), nn::BatchNorm2d(w),
                          nn::ReLU(nn::ReLUOptions(true)));
  classifier = nn::Sequential(nn::AdaptiveAvgPool2d(nn::AdaptiveAvgPool2dOptions(1)), nn::Flatten(),
                              nn::Dropout(options.dropout), nn::Linear(w, options.num_outputs));
  register_module("latent", latent);
  register_module("classifier", classifier);
}

torch::Tensor LatentCnnImpl::forward_features(torch::Tensor images) {
  check_image_batch(images, options.in_channels, "latent-cnn");
  return code_features(encoder->forward(images));
}

torch::Tensor LatentCnnImpl::code_features(const torch::Tensor& codes) {
  const auto shape = code_shape(encoder_options(options));
  TORCH_CHECK(codes.dim() == 4 && codes.size(1) == shape[0] && codes.size(2) == shape[1],
              "latent-cnn: expected codes [N, ", shape[0], ", ", shape[1], ", ", shape[2], "], got ",
              codes.sizes());
  return latent->forward(codes);
}

torch::Tensor LatentCnnImpl::forward_head(torch::Tensor features) { return classifier->forward(features); }

std::vector<torch::Tensor> LatentCnnImpl::head_parameters() { return classifier->parameters(); }

CodeClassifierImpl::CodeClassifierImpl(std::shared_ptr<LatentCnnImpl> net) : net_(std::move(net)) {
  register_module("latent", net_->latent);
  register_module("classifier", net_->classifier);
}

}  // namespace pneumoscan
