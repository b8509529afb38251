#include "models/googlenet.h"

#include <torch/nn/functional/activation.h>
#include <torch/nn/functional/pooling.h>
#include <torch/nn/init.h>
#include <torch/nn/modules/pooling.h>

#include "models/init.h"

namespace pneumoscan {
namespace nn = torch::nn;
namespace F = torch::nn::functional;

namespace {
torch::Tensor max_pool_ceil(const torch::Tensor& x, int64_t kernel, int64_t stride) {
  return F::max_pool2d(x, F::MaxPool2dFuncOptions(kernel).stride(stride).ceil_mode(true));
}
}  // namespace

BasicConv2dImpl::BasicConv2dImpl(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t padding)
    : conv(register_module(
          "conv",
          nn::Conv2d(nn::Conv2dOptions(in, out, kernel).stride(stride).padding(padding).bias(false)))),
      bn(register_module("bn", nn::BatchNorm2d(nn::BatchNorm2dOptions(out).eps(0.001)))) {}

torch::Tensor BasicConv2dImpl::forward(torch::Tensor x) {
  return F::relu(bn->forward(conv->forward(x)), F::ReLUFuncOptions(true));
}

InceptionImpl::InceptionImpl(int64_t in, int64_t ch1x1, int64_t ch3x3red, int64_t ch3x3, int64_t ch5x5red,
                             int64_t ch5x5, int64_t pool_proj)
    : in_channels_(in), out_channels_(ch1x1 + ch3x3 + ch5x5 + pool_proj) {
  branch1 = register_module("branch1", BasicConv2d(in, ch1x1, 1));
  branch2 = register_module(
      "branch2", nn::Sequential(BasicConv2d(in, ch3x3red, 1), BasicConv2d(ch3x3red, ch3x3, 3, 1, 1)));
  // torchvision's known deviation from the paper: a 3x3, not 5x5, convolution.
  branch3 = register_module(
      "branch3", nn::Sequential(BasicConv2d(in, ch5x5red, 1), BasicConv2d(ch5x5red, ch5x5, 3, 1, 1)));
  branch4 = register_module(
      "branch4", nn::Sequential(nn::MaxPool2d(nn::MaxPool2dOptions(3).stride(1).padding(1).ceil_mode(true)),
                                BasicConv2d(in, pool_proj, 1)));
}

torch::Tensor InceptionImpl::forward(torch::Tensor x) {
  TORCH_CHECK(x.dim() == 4 && x.size(1) == in_channels_, "googlenet inception: expected [N, ", in_channels_,
              ", h, w], got ", x.sizes());
  return torch::cat({branch1->forward(x), branch2->forward(x), branch3->forward(x), branch4->forward(x)}, 1);
}

GoogLeNetImpl::GoogLeNetImpl(const GoogLeNetOptions& options_in) : options(options_in) {
  conv1 = register_module("conv1", BasicConv2d(options.in_channels, 64, 7, 2, 3));
  conv2 = register_module("conv2", BasicConv2d(64, 64, 1));
  conv3 = register_module("conv3", BasicConv2d(64, 192, 3, 1, 1));
  inception3a = register_module("inception3a", Inception(192, 64, 96, 128, 16, 32, 32));
  inception3b = register_module("inception3b", Inception(256, 128, 128, 192, 32, 96, 64));
  inception4a = register_module("inception4a", Inception(480, 192, 96, 208, 16, 48, 64));
  inception4b = register_module("inception4b", Inception(512, 160, 112, 224, 24, 64, 64));
  inception4c = register_module("inception4c", Inception(512, 128, 128, 256, 24, 64, 64));
  inception4d = register_module("inception4d", Inception(512, 112, 144, 288, 32, 64, 64));
  inception4e = register_module("inception4e", Inception(528, 256, 160, 320, 32, 128, 128));
  inception5a = register_module("inception5a", Inception(832, 256, 160, 320, 32, 128, 128));
  inception5b = register_module("inception5b", Inception(832, 384, 192, 384, 48, 128, 128));
  dropout = register_module("dropout", nn::Dropout(options.dropout));
  fc = register_module("fc", nn::Linear(inception5b->out_channels(), options.num_classes));

  // torchvision: trunc_normal_(std=0.01, a=-2, b=2) for conv and linear weights
  // (the bounds are 200 sigma away, so a plain normal), BatchNorm 1/0.
  init_weights(*this, {WeightInit::kNormal001, WeightInit::kNormal001, false, false});
}

torch::Tensor GoogLeNetImpl::forward_features(torch::Tensor x) {
  check_image_batch(x, options.in_channels, "googlenet");
  x = max_pool_ceil(conv1->forward(x), 3, 2);
  x = max_pool_ceil(conv3->forward(conv2->forward(x)), 3, 2);
  x = max_pool_ceil(inception3b->forward(inception3a->forward(x)), 3, 2);
  x = inception4c->forward(inception4b->forward(inception4a->forward(x)));
  x = max_pool_ceil(inception4e->forward(inception4d->forward(x)), 2, 2);
  return inception5b->forward(inception5a->forward(x));
}

torch::Tensor GoogLeNetImpl::forward_head(torch::Tensor x) {
  TORCH_CHECK(x.dim() == 4 && x.size(1) == fc->options.in_features(), "googlenet head: expected [N, ",
              fc->options.in_features(), ", h, w], got ", x.sizes());
  x = F::adaptive_avg_pool2d(x, F::AdaptiveAvgPool2dFuncOptions(1)).flatten(1);
  return fc->forward(dropout->forward(x));
}

std::vector<torch::Tensor> GoogLeNetImpl::head_parameters() { return fc->parameters(); }

}  // namespace pneumoscan
