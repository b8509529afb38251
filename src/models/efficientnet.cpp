#include "models/efficientnet.h"

#include <torch/nn/functional/activation.h>
#include <torch/nn/functional/pooling.h>
#include <torch/nn/init.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>

#include <cmath>

#include "models/init.h"
#include "models/nested_sequential.h"

namespace pneumoscan {
namespace nn = torch::nn;
namespace F = torch::nn::functional;

EfficientNetOptions efficientnet_b0_options() {
  EfficientNetOptions o;
  // torchvision's _efficientnet_conf("efficientnet_b0"): width and depth 1.0.
  o.stages = {{1, 3, 1, 32, 16, 1},  {6, 3, 2, 16, 24, 2},   {6, 5, 2, 24, 40, 2},  {6, 3, 2, 40, 80, 3},
              {6, 5, 1, 80, 112, 3}, {6, 5, 2, 112, 192, 4}, {6, 3, 1, 192, 320, 1}};
  o.last_channel = 1280;
  o.name = "efficientnet-b0";
  return o;
}

namespace {
// torchvision's Conv2dNormActivation: conv (no bias, padding (k-1)/2) + BatchNorm
// (b0 uses the default eps 1e-5) [+ SiLU].
NestedSequential conv_bn_act(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t groups,
                             bool silu) {
  NestedSequential seq(nn::Conv2d(nn::Conv2dOptions(in, out, kernel)
                                      .stride(stride)
                                      .padding((kernel - 1) / 2)
                                      .groups(groups)
                                      .bias(false)),
                       nn::BatchNorm2d(out));
  if (silu) seq->push_back(nn::SiLU());
  return seq;
}
}  // namespace

SqueezeExcitationImpl::SqueezeExcitationImpl(int64_t channels, int64_t squeeze_channels)
    : fc1(register_module("fc1", nn::Conv2d(nn::Conv2dOptions(channels, squeeze_channels, 1)))),
      fc2(register_module("fc2", nn::Conv2d(nn::Conv2dOptions(squeeze_channels, channels, 1)))) {}

torch::Tensor SqueezeExcitationImpl::forward(torch::Tensor x) {
  torch::Tensor scale = F::adaptive_avg_pool2d(x, F::AdaptiveAvgPool2dFuncOptions(1));
  scale = torch::sigmoid(fc2->forward(F::silu(fc1->forward(scale))));
  return x * scale;
}

MBConvImpl::MBConvImpl(const EfficientNetStage& stage, int64_t in, int64_t stride)
    : use_residual(stride == 1 && in == stage.out_channels) {
  TORCH_CHECK(stride == 1 || stride == 2, "efficientnet mbconv: stride must be 1 or 2, got ", stride);
  const int64_t expanded = in * stage.expand_ratio;
  block = nn::Sequential();
  if (expanded != in) block->push_back(conv_bn_act(in, expanded, 1, 1, 1, true));
  block->push_back(conv_bn_act(expanded, expanded, stage.kernel, stride, expanded, true));
  block->push_back(SqueezeExcitation(expanded, std::max<int64_t>(1, in / 4)));
  block->push_back(conv_bn_act(expanded, stage.out_channels, 1, 1, 1, false));
  register_module("block", block);
}

torch::Tensor MBConvImpl::forward(torch::Tensor x) {
  return use_residual ? block->forward(x) + x : block->forward(x);
}

EfficientNetImpl::EfficientNetImpl(const EfficientNetOptions& options_in) : options(options_in) {
  TORCH_CHECK(!options.stages.empty(), options.name, ": no stages");
  features = nn::Sequential();
  features->push_back(conv_bn_act(options.in_channels, options.stages.front().in_channels, 3, 2, 1, true));
  for (const EfficientNetStage& stage : options.stages) {
    NestedSequential layers;
    for (int64_t i = 0; i < stage.num_layers; ++i)
      layers->push_back(
          MBConv(stage, i == 0 ? stage.in_channels : stage.out_channels, i == 0 ? stage.stride : 1));
    features->push_back(layers);
  }
  features->push_back(conv_bn_act(options.stages.back().out_channels, options.last_channel, 1, 1, 1, true));
  classifier =
      nn::Sequential(nn::Dropout(options.dropout), nn::Linear(options.last_channel, options.num_classes));
  register_module("features", features);
  register_module("classifier", classifier);

  // torchvision's initialisation.
  init_weights(*this, {WeightInit::kKaimingFanOut, WeightInit::kUniformOutFeatures, true, true});
}

torch::Tensor EfficientNetImpl::forward_features(torch::Tensor images) {
  check_image_batch(images, options.in_channels, options.name);
  return features->forward(images);
}

torch::Tensor EfficientNetImpl::forward_head(torch::Tensor x) {
  TORCH_CHECK(x.dim() == 4 && x.size(1) == options.last_channel, options.name, " head: expected [N, ",
              options.last_channel, ", h, w], got ", x.sizes());
  x = F::adaptive_avg_pool2d(x, F::AdaptiveAvgPool2dFuncOptions(1)).flatten(1);
  return classifier->forward(x);
}

std::vector<torch::Tensor> EfficientNetImpl::head_parameters() { return classifier->parameters(); }

}  // namespace pneumoscan
