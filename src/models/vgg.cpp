#include "models/vgg.h"

#include <torch/nn/functional/pooling.h>
#include <torch/nn/init.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/pooling.h>

#include "models/init.h"

namespace pneumoscan {
namespace nn = torch::nn;
namespace F = torch::nn::functional;

VggOptions vgg16_options(bool batch_norm) {
  VggOptions o;
  o.config = {64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0};
  o.batch_norm = batch_norm;
  o.name = batch_norm ? "vgg16-bn" : "vgg16";
  return o;
}

VggOptions vgg19_options(bool batch_norm) {
  VggOptions o;
  o.config = {64, 64, 0, 128, 128, 0, 256, 256, 256, 256, 0, 512, 512, 512, 512, 0, 512, 512, 512, 512, 0};
  o.batch_norm = batch_norm;
  o.name = batch_norm ? "vgg19-bn" : "vgg19";
  return o;
}

VggImpl::VggImpl(const VggOptions& options_in) : options(options_in) {
  features = nn::Sequential();
  int64_t in = options.in_channels;
  for (int64_t v : options.config) {
    if (v == 0) {
      features->push_back(nn::MaxPool2d(nn::MaxPool2dOptions(2).stride(2)));
      continue;
    }
    features->push_back(nn::Conv2d(nn::Conv2dOptions(in, v, 3).padding(1)));
    if (options.batch_norm) features->push_back(nn::BatchNorm2d(v));
    features->push_back(nn::ReLU(nn::ReLUOptions(true)));
    in = v;
  }
  TORCH_CHECK(in == 512, options.name, ": the last convolution must have 512 channels, got ", in);
  classifier =
      nn::Sequential(nn::Linear(512 * 7 * 7, 4096), nn::ReLU(nn::ReLUOptions(true)),
                     nn::Dropout(options.dropout), nn::Linear(4096, 4096), nn::ReLU(nn::ReLUOptions(true)),
                     nn::Dropout(options.dropout), nn::Linear(4096, options.num_classes));
  register_module("features", features);
  register_module("classifier", classifier);

  // torchvision's initialisation.
  init_weights(*this, {WeightInit::kKaimingFanOut, WeightInit::kNormal001, true, true});
}

torch::Tensor VggImpl::forward_features(torch::Tensor images) {
  check_image_batch(images, options.in_channels, options.name);
  return features->forward(images);
}

torch::Tensor VggImpl::forward_head(torch::Tensor x) {
  TORCH_CHECK(x.dim() == 4 && x.size(1) == 512, options.name, " head: expected [N, 512, h, w], got ",
              x.sizes());
  x = F::adaptive_avg_pool2d(x, F::AdaptiveAvgPool2dFuncOptions(7)).flatten(1);
  return classifier->forward(x);
}

std::vector<torch::Tensor> VggImpl::head_parameters() { return classifier->parameters(); }

}  // namespace pneumoscan
