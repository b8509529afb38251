#include "models/resnet.h"

#include <torch/nn/functional/activation.h>
#include <torch/nn/functional/pooling.h>
#include <torch/nn/init.h>

#include "models/init.h"

namespace pneumoscan {
namespace nn = torch::nn;
namespace F = torch::nn::functional;

ResNetOptions resnet18_options() { return {{2, 2, 2, 2}, false}; }
ResNetOptions resnet34_options() { return {{3, 4, 6, 3}, false}; }
ResNetOptions resnet50_options() { return {{3, 4, 6, 3}, true}; }
ResNetOptions resnet50_v1_options() { return {{3, 4, 6, 3}, true, true}; }

namespace {
nn::Conv2d conv3x3(int64_t in, int64_t out, int64_t stride) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, 3).stride(stride).padding(1).bias(false));
}
nn::Conv2d conv1x1(int64_t in, int64_t out, int64_t stride = 1) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, 1).stride(stride).bias(false));
}
NestedSequential make_downsample(int64_t in, int64_t out, int64_t stride) {
  if (stride == 1 && in == out) return nullptr;
  return NestedSequential(conv1x1(in, out, stride), nn::BatchNorm2d(out));
}

// Folds each (conv, bn) pair once; `folded` set afterwards.
int64_t fold_pairs(bool& folded, std::initializer_list<std::pair<nn::Conv2d*, nn::BatchNorm2d*>> pairs) {
  if (folded) return 0;
  for (const auto& [conv, bn] : pairs) fold_into_convolution(**conv, **bn);
  folded = true;
  return static_cast<int64_t>(pairs.size());
}
}  // namespace

BasicBlockImpl::BasicBlockImpl(int64_t in_planes, int64_t planes, int64_t stride)
    : conv1(register_module("conv1", conv3x3(in_planes, planes, stride))),
      conv2(register_module("conv2", conv3x3(planes, planes, 1))),
      bn1(register_module("bn1", nn::BatchNorm2d(planes))),
      bn2(register_module("bn2", nn::BatchNorm2d(planes))),
      downsample(make_downsample(in_planes, planes * kExpansion, stride)) {
  if (downsample) register_module("downsample", downsample);
}

torch::Tensor BasicBlockImpl::forward(torch::Tensor x) {
  torch::Tensor identity = downsample ? downsample->forward(x) : x;
  torch::Tensor out =
      F::relu(batch_norm_unless_folded(folded_, bn1, conv1->forward(x)), F::ReLUFuncOptions(true));
  out = batch_norm_unless_folded(folded_, bn2, conv2->forward(out));
  return F::relu(out + identity, F::ReLUFuncOptions(true));
}

int64_t BasicBlockImpl::fold_batch_norm() { return fold_pairs(folded_, {{&conv1, &bn1}, {&conv2, &bn2}}); }

BottleneckImpl::BottleneckImpl(int64_t in_planes, int64_t planes, int64_t stride, bool stride_on_1x1)
    : conv1(register_module("conv1", conv1x1(in_planes, planes, stride_on_1x1 ? stride : 1))),
      conv2(register_module("conv2", conv3x3(planes, planes, stride_on_1x1 ? 1 : stride))),
      conv3(register_module("conv3", conv1x1(planes, planes * kExpansion))),
      bn1(register_module("bn1", nn::BatchNorm2d(planes))),
      bn2(register_module("bn2", nn::BatchNorm2d(planes))),
      bn3(register_module("bn3", nn::BatchNorm2d(planes * kExpansion))),
      downsample(make_downsample(in_planes, planes * kExpansion, stride)) {
  if (downsample) register_module("downsample", downsample);
}

torch::Tensor BottleneckImpl::forward(torch::Tensor x) {
  torch::Tensor identity = downsample ? downsample->forward(x) : x;
  torch::Tensor out =
      F::relu(batch_norm_unless_folded(folded_, bn1, conv1->forward(x)), F::ReLUFuncOptions(true));
  out = F::relu(batch_norm_unless_folded(folded_, bn2, conv2->forward(out)), F::ReLUFuncOptions(true));
  out = batch_norm_unless_folded(folded_, bn3, conv3->forward(out));
  return F::relu(out + identity, F::ReLUFuncOptions(true));
}

int64_t BottleneckImpl::fold_batch_norm() {
  return fold_pairs(folded_, {{&conv1, &bn1}, {&conv2, &bn2}, {&conv3, &bn3}});
}

ResNetImpl::ResNetImpl(const ResNetOptions& options_in) : options(options_in) {
  TORCH_CHECK(options.blocks_per_stage.size() == 4, "resnet: expected 4 stages");
  conv1 = register_module(
      "conv1", nn::Conv2d(nn::Conv2dOptions(options.in_channels, 64, 7).stride(2).padding(3).bias(false)));
  bn1 = register_module("bn1", nn::BatchNorm2d(64));
  int64_t in_planes = 64;
  layer1 = register_module("layer1", make_stage(in_planes, 64, options.blocks_per_stage[0], 1));
  layer2 = register_module("layer2", make_stage(in_planes, 128, options.blocks_per_stage[1], 2));
  layer3 = register_module("layer3", make_stage(in_planes, 256, options.blocks_per_stage[2], 2));
  layer4 = register_module("layer4", make_stage(in_planes, 512, options.blocks_per_stage[3], 2));
  fc = register_module("fc", nn::Linear(in_planes, options.num_classes));

  // torchvision's initialisation: Kaiming for convolutions, BN weight 1 bias 0.
  init_weights(*this, {WeightInit::kKaimingFanOut, WeightInit::kKeep, false, false});
}

nn::Sequential ResNetImpl::make_stage(int64_t& in_planes, int64_t planes, int64_t blocks, int64_t stride) {
  nn::Sequential stage;
  for (int64_t i = 0; i < blocks; ++i) {
    const int64_t block_stride = i == 0 ? stride : 1;
    if (options.bottleneck) {
      stage->push_back(Bottleneck(in_planes, planes, block_stride, options.stride_on_1x1));
      in_planes = planes * BottleneckImpl::kExpansion;
    } else {
      stage->push_back(BasicBlock(in_planes, planes, block_stride));
      in_planes = planes * BasicBlockImpl::kExpansion;
    }
  }
  return stage;
}

torch::Tensor ResNetImpl::forward_features(torch::Tensor x) {
  check_image_batch(x, options.in_channels, "resnet");
  x = F::relu(batch_norm_unless_folded(folded_, bn1, conv1->forward(x)), F::ReLUFuncOptions(true));
  x = F::max_pool2d(x, F::MaxPool2dFuncOptions(3).stride(2).padding(1));
  return layer4->forward(layer3->forward(layer2->forward(layer1->forward(x))));
}

int64_t ResNetImpl::fold_batch_norm() { return fold_pairs(folded_, {{&conv1, &bn1}}); }

torch::Tensor ResNetImpl::forward_head(torch::Tensor x) {
  TORCH_CHECK(x.dim() == 4 && x.size(1) == fc->options.in_features(), "resnet head: expected [N, ",
              fc->options.in_features(), ", h, w], got ", x.sizes());
  x = F::adaptive_avg_pool2d(x, F::AdaptiveAvgPool2dFuncOptions(1)).flatten(1);
  return fc->forward(x);
}

std::vector<torch::Tensor> ResNetImpl::head_parameters() { return fc->parameters(); }

}  // namespace pneumoscan
