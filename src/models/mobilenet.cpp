#include "models/mobilenet.h"

#include <torch/nn/functional/pooling.h>
#include <torch/nn/init.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/functional.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/dropout.h>

#include "models/init.h"
#include "models/nested_sequential.h"

namespace pneumoscan {
namespace nn = torch::nn;
namespace F = torch::nn::functional;

namespace {

enum class Activation { kNone, kReLU, kReLU6 };

// conv (no bias, "same" padding) + BatchNorm [+ activation], appended to `seq`.
void append_conv_bn(NestedSequential& seq, int64_t in, int64_t out, int64_t kernel, int64_t stride,
                    int64_t groups, Activation activation) {
  seq->push_back(nn::Conv2d(nn::Conv2dOptions(in, out, kernel)
                                .stride(stride)
                                .padding((kernel - 1) / 2)
                                .groups(groups)
                                .bias(false)));
  seq->push_back(nn::BatchNorm2d(out));
  if (activation == Activation::kReLU) seq->push_back(nn::ReLU(nn::ReLUOptions(true)));
  // ReLU6 as a clamp: the same values, and unlike LibTorch 1.13's hardtanh it
  // has a bfloat16 backward on CPU (mixed-precision training, train/step.h).
  if (activation == Activation::kReLU6)
    seq->push_back(nn::Functional([](torch::Tensor x) { return x.clamp(0, 6); }));
}

// torchvision's Conv2dNormActivation with ReLU6, as a Sequential of its own.
NestedSequential conv_bn_relu6(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t groups = 1) {
  NestedSequential seq;
  append_conv_bn(seq, in, out, kernel, stride, groups, Activation::kReLU6);
  return seq;
}

// torchvision's MobileNet initialisation (V2; used for V1 too).
void init_mobilenet(nn::Module& net) {
  init_weights(net, {WeightInit::kKaimingFanOut, WeightInit::kNormal001, true, true});
}

}  // namespace

// --- MobileNet V1 --------------------------------------------------------------

MobileNetV1Impl::MobileNetV1Impl(const MobileNetV1Options& options_in) : options(options_in) {
  struct Block {
    int64_t out, stride;
  };
  const Block blocks[13] = {{64, 1},  {128, 2}, {128, 1}, {256, 2}, {256, 1},  {512, 2}, {512, 1},
                            {512, 1}, {512, 1}, {512, 1}, {512, 1}, {1024, 2}, {1024, 1}};
  features = nn::Sequential();
  NestedSequential stem;
  append_conv_bn(stem, options.in_channels, 32, 3, 2, 1, Activation::kReLU);
  features->push_back(stem);
  int64_t in = 32;
  for (const Block& b : blocks) {
    NestedSequential block;
    append_conv_bn(block, in, in, 3, b.stride, in, Activation::kReLU);  // depthwise
    append_conv_bn(block, in, b.out, 1, 1, 1, Activation::kReLU);       // pointwise
    features->push_back(block);
    in = b.out;
  }
  register_module("features", features);
  fc = register_module("fc", nn::Linear(in, options.num_classes));
  init_mobilenet(*this);
}

torch::Tensor MobileNetV1Impl::forward_features(torch::Tensor images) {
  check_image_batch(images, options.in_channels, "mobilenet-v1");
  return features->forward(images);
}

torch::Tensor MobileNetV1Impl::forward_head(torch::Tensor x) {
  TORCH_CHECK(x.dim() == 4 && x.size(1) == fc->options.in_features(), "mobilenet-v1 head: expected [N, ",
              fc->options.in_features(), ", h, w], got ", x.sizes());
  x = F::adaptive_avg_pool2d(x, F::AdaptiveAvgPool2dFuncOptions(1)).flatten(1);
  return fc->forward(x);
}

std::vector<torch::Tensor> MobileNetV1Impl::head_parameters() { return fc->parameters(); }

// --- MobileNet V2 --------------------------------------------------------------

InvertedResidualImpl::InvertedResidualImpl(int64_t in, int64_t out, int64_t stride, int64_t expand_ratio)
    : use_residual(stride == 1 && in == out) {
  TORCH_CHECK(stride == 1 || stride == 2, "mobilenet-v2 inverted residual: stride must be 1 or 2, got ",
              stride);
  const int64_t hidden = in * expand_ratio;
  conv = NestedSequential();
  if (expand_ratio != 1) conv->push_back(conv_bn_relu6(in, hidden, 1, 1));     // pointwise expansion
  conv->push_back(conv_bn_relu6(hidden, hidden, 3, stride, hidden));           // depthwise
  conv->push_back(nn::Conv2d(nn::Conv2dOptions(hidden, out, 1).bias(false)));  // linear projection
  conv->push_back(nn::BatchNorm2d(out));
  register_module("conv", conv);
}

torch::Tensor InvertedResidualImpl::forward(torch::Tensor x) {
  return use_residual ? x + conv->forward(x) : conv->forward(x);
}

MobileNetV2Impl::MobileNetV2Impl(const MobileNetV2Options& options_in) : options(options_in) {
  struct Stage {
    int64_t t, c, n, s;  // expansion, output channels, repeats, first stride
  };
  const Stage stages[7] = {{1, 16, 1, 1}, {6, 24, 2, 2},  {6, 32, 3, 2}, {6, 64, 4, 2},
                           {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
  features = nn::Sequential();
  features->push_back(conv_bn_relu6(options.in_channels, 32, 3, 2));
  int64_t in = 32;
  for (const Stage& st : stages) {
    for (int64_t i = 0; i < st.n; ++i) {
      features->push_back(InvertedResidual(in, st.c, i == 0 ? st.s : 1, st.t));
      in = st.c;
    }
  }
  const int64_t last_channel = 1280;
  features->push_back(conv_bn_relu6(in, last_channel, 1, 1));
  const int64_t pooled = options.pooling == HeadPooling::kAverageAndMax ? 2 * last_channel : last_channel;
  classifier = nn::Sequential(nn::Dropout(options.dropout), nn::Linear(pooled, options.num_classes));
  register_module("features", features);
  register_module("classifier", classifier);
  init_mobilenet(*this);
}

torch::Tensor MobileNetV2Impl::forward_features(torch::Tensor images) {
  check_image_batch(images, options.in_channels, "mobilenet-v2");
  return features->forward(images);
}

torch::Tensor MobileNetV2Impl::forward_head(torch::Tensor x) {
  TORCH_CHECK(x.dim() == 4 && x.size(1) == 1280, "mobilenet-v2 head: expected [N, 1280, h, w], got ",
              x.sizes());
  torch::Tensor pooled = F::adaptive_avg_pool2d(x, F::AdaptiveAvgPool2dFuncOptions(1)).flatten(1);
  if (options.pooling == HeadPooling::kAverageAndMax)
    pooled =
        torch::cat({pooled, F::adaptive_max_pool2d(x, F::AdaptiveMaxPool2dFuncOptions(1)).flatten(1)}, 1);
  return classifier->forward(pooled);
}

std::vector<torch::Tensor> MobileNetV2Impl::head_parameters() { return classifier->parameters(); }

}  // namespace pneumoscan
