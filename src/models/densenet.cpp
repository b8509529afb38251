#include "models/densenet.h"

#include <torch/nn/functional/activation.h>
#include <torch/nn/functional/dropout.h>
#include <torch/nn/functional/pooling.h>
#include <torch/nn/init.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/pooling.h>

#include <string>

#include "models/init.h"
#include "models/nested_sequential.h"

namespace pneumoscan {
namespace nn = torch::nn;
namespace F = torch::nn::functional;

DenseNetOptions densenet121_options() { return {}; }

DenseLayerImpl::DenseLayerImpl(int64_t in, int64_t growth_rate, int64_t bn_size, double drop_rate_in)
    : drop_rate(drop_rate_in) {
  norm1 = register_module("norm1", nn::BatchNorm2d(in));
  conv1 = register_module("conv1", nn::Conv2d(nn::Conv2dOptions(in, bn_size * growth_rate, 1).bias(false)));
  norm2 = register_module("norm2", nn::BatchNorm2d(bn_size * growth_rate));
  conv2 = register_module(
      "conv2", nn::Conv2d(nn::Conv2dOptions(bn_size * growth_rate, growth_rate, 3).padding(1).bias(false)));
}

torch::Tensor DenseLayerImpl::forward(torch::Tensor x) {
  // relu1/relu2 hold no parameters, so they are functional here.
  torch::Tensor out = conv1->forward(F::relu(norm1->forward(x), F::ReLUFuncOptions(true)));
  out = conv2->forward(F::relu(norm2->forward(out), F::ReLUFuncOptions(true)));
  if (drop_rate > 0) out = F::dropout(out, F::DropoutFuncOptions().p(drop_rate).training(is_training()));
  return out;
}

DenseBlockImpl::DenseBlockImpl(int64_t num_layers, int64_t in, int64_t growth_rate, int64_t bn_size,
                               double drop_rate) {
  for (int64_t i = 0; i < num_layers; ++i)
    layers.push_back(register_module("denselayer" + std::to_string(i + 1),
                                     DenseLayer(in + i * growth_rate, growth_rate, bn_size, drop_rate)));
}

torch::Tensor DenseBlockImpl::forward(torch::Tensor x) {
  std::vector<torch::Tensor> maps = {x};
  for (auto& layer : layers) maps.push_back(layer->forward(torch::cat(maps, 1)));
  return torch::cat(maps, 1);
}

DenseNetImpl::DenseNetImpl(const DenseNetOptions& options_in) : options(options_in) {
  TORCH_CHECK(!options.block_config.empty(), "densenet: no dense blocks");
  features = nn::Sequential();
  features->push_back("conv0", nn::Conv2d(nn::Conv2dOptions(options.in_channels, options.num_init_features, 7)
                                              .stride(2)
                                              .padding(3)
                                              .bias(false)));
  features->push_back("norm0", nn::BatchNorm2d(options.num_init_features));
  features->push_back("relu0", nn::ReLU(nn::ReLUOptions(true)));
  features->push_back("pool0", nn::MaxPool2d(nn::MaxPool2dOptions(3).stride(2).padding(1)));
  int64_t channels = options.num_init_features;
  for (size_t i = 0; i < options.block_config.size(); ++i) {
    const int64_t layers = options.block_config[i];
    features->push_back(
        "denseblock" + std::to_string(i + 1),
        DenseBlock(layers, channels, options.growth_rate, options.bn_size, options.drop_rate));
    channels += layers * options.growth_rate;
    if (i + 1 != options.block_config.size()) {
      NestedSequential transition;
      transition->push_back("norm", nn::BatchNorm2d(channels));
      transition->push_back("relu", nn::ReLU(nn::ReLUOptions(true)));
      transition->push_back("conv", nn::Conv2d(nn::Conv2dOptions(channels, channels / 2, 1).bias(false)));
      transition->push_back("pool", nn::AvgPool2d(nn::AvgPool2dOptions(2).stride(2)));
      features->push_back("transition" + std::to_string(i + 1), transition);
      channels /= 2;
    }
  }
  features->push_back("norm5", nn::BatchNorm2d(channels));
  register_module("features", features);
  classifier = register_module("classifier", nn::Linear(channels, options.num_classes));

  // torchvision's initialisation.
  init_weights(*this, {WeightInit::kKaimingFanIn, WeightInit::kKeep, false, true});
}

torch::Tensor DenseNetImpl::forward_features(torch::Tensor images) {
  check_image_batch(images, options.in_channels, "densenet");
  return F::relu(features->forward(images), F::ReLUFuncOptions(true));
}

torch::Tensor DenseNetImpl::forward_head(torch::Tensor x) {
  TORCH_CHECK(x.dim() == 4 && x.size(1) == classifier->options.in_features(), "densenet head: expected [N, ",
              classifier->options.in_features(), ", h, w], got ", x.sizes());
  x = F::adaptive_avg_pool2d(x, F::AdaptiveAvgPool2dFuncOptions(1)).flatten(1);
  return classifier->forward(x);
}

std::vector<torch::Tensor> DenseNetImpl::head_parameters() { return classifier->parameters(); }

}  // namespace pneumoscan
