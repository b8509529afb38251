#pragma once
// MobileNet V1 and V2.
//
// V1 follows the paper (Howard et al. 2017, width 1.0): a 3x3 stride-2 conv
// with 32 filters, then 13 depthwise-separable blocks (3x3 depthwise + 1x1
// pointwise, each conv without bias + BatchNorm + ReLU), global average pool,
// `fc`. torchvision has no V1; the names are features.0.{0,1} (stem conv, bn),
// features.N.{0,1} (depthwise conv, bn) and features.N.{3,4} (pointwise conv,
// bn) for N = 1..13.
//
// V2 is torchvision's mobilenet_v2 (width 1.0) layout and names exactly:
// features.0 = Conv2dNormActivation (features.0.0 conv, features.0.1 bn, ReLU6),
// features.1..17 = InvertedResidual (`conv.0.0`, `conv.0.1`, ..., the last
// projection conv and its bn), features.18 = 1x1 conv to 1280, then global
// average pool and classifier.0 (dropout 0.2) + classifier.1 (linear).
//
// "mobilenet-v2-avgmax" is V2 with the head on the average and the maximum of
// each feature channel side by side (fastai's concat pooling; classifier.1 is
// 2560 -> K). Why: the average says how much of the image shows a pattern, the
// maximum how strongly its most marked spot does, so a linear head can weigh
// one focal opacity (lobar, typically bacterial) against diffuse change
// (typically viral), which the average alone folds together. The features and
// their names are V2's, so the ImageNet file loads into them unchanged.
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>

#include <vector>

#include "models/classifier.h"
#include "models/nested_sequential.h"

namespace pneumoscan {

struct MobileNetV1Options {
  int64_t in_channels = 1;
  int64_t num_classes = 2;
};

class MobileNetV1Impl : public ClassifierImpl {
 public:
  explicit MobileNetV1Impl(const MobileNetV1Options& options);
  // The last block's output, [N, 1024, H/32, W/32].
  torch::Tensor forward_features(torch::Tensor images) override;
  // global average pool, fc.
  torch::Tensor forward_head(torch::Tensor features) override;
  std::vector<torch::Tensor> head_parameters() override;

  const MobileNetV1Options options;
  torch::nn::Sequential features{nullptr};
  torch::nn::Linear fc{nullptr};
};

enum class HeadPooling { kAverage, kAverageAndMax };

struct MobileNetV2Options {
  int64_t in_channels = 1;
  int64_t num_classes = 2;
  double dropout = 0.2;
  HeadPooling pooling = HeadPooling::kAverage;
};

class InvertedResidualImpl : public torch::nn::Module {
 public:
  InvertedResidualImpl(int64_t in, int64_t out, int64_t stride, int64_t expand_ratio);
  torch::Tensor forward(torch::Tensor x);
  NestedSequential conv{nullptr};  // foldable for inference (its last pair is the projection)
  const bool use_residual;
};
TORCH_MODULE(InvertedResidual);

class MobileNetV2Impl : public ClassifierImpl {
 public:
  explicit MobileNetV2Impl(const MobileNetV2Options& options);
  // features.18's output, [N, 1280, H/32, W/32].
  torch::Tensor forward_features(torch::Tensor images) override;
  // global average pool (and max pool, side by side, for kAverageAndMax),
  // classifier (dropout, linear).
  torch::Tensor forward_head(torch::Tensor features) override;
  std::vector<torch::Tensor> head_parameters() override;

  const MobileNetV2Options options;
  torch::nn::Sequential features{nullptr};
  torch::nn::Sequential classifier{nullptr};
};

}  // namespace pneumoscan
