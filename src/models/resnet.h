#pragma once
// ResNet-18/34/50 in torchvision's layout and parameter names (conv1, bn1,
// layer1..layer4 with BasicBlock/Bottleneck, downsample.0/1, fc), so
// torchvision state dicts load by name. `in_channels` = 1 for gray X-rays.
//
// ResNet-50 v1 ("resnet50-v1"): the original paper's and Caffe/Keras weights'
// placement of the downsampling stride, on conv1 (the 1x1) of the first
// bottleneck of layers 2-4 instead of conv2 (the 3x3, torchvision's "v1.5").
// The parameters are identical in name and shape, so only the registry name
// stored in the model file tells them apart; weights trained with one placement
// give degraded features under the other.
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>

#include <vector>

#include "models/batch_norm_fold.h"
#include "models/classifier.h"
#include "models/nested_sequential.h"

namespace pneumoscan {

struct ResNetOptions {
  std::vector<int64_t> blocks_per_stage = {2, 2, 2, 2};
  bool bottleneck = false;     // BasicBlock (18, 34) or Bottleneck (50)
  bool stride_on_1x1 = false;  // Bottleneck only: v1 stride placement (see above)
  int64_t in_channels = 1;
  int64_t num_classes = 2;
};

ResNetOptions resnet18_options();
ResNetOptions resnet34_options();
ResNetOptions resnet50_options();
ResNetOptions resnet50_v1_options();

class BasicBlockImpl : public torch::nn::Module, public BatchNormFoldable {
 public:
  static constexpr int64_t kExpansion = 1;
  BasicBlockImpl(int64_t in_planes, int64_t planes, int64_t stride);
  torch::Tensor forward(torch::Tensor x);
  int64_t fold_batch_norm() override;  // conv1/bn1, conv2/bn2 (downsample folds itself)
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr}, bn2{nullptr};
  NestedSequential downsample{nullptr};

 private:
  bool folded_ = false;
};
TORCH_MODULE(BasicBlock);

class BottleneckImpl : public torch::nn::Module, public BatchNormFoldable {
 public:
  static constexpr int64_t kExpansion = 4;
  // `stride_on_1x1`: the stride sits on conv1 (v1) instead of conv2 (torchvision).
  BottleneckImpl(int64_t in_planes, int64_t planes, int64_t stride, bool stride_on_1x1 = false);
  torch::Tensor forward(torch::Tensor x);
  int64_t fold_batch_norm() override;
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr}, conv3{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr}, bn2{nullptr}, bn3{nullptr};
  NestedSequential downsample{nullptr};

 private:
  bool folded_ = false;
};
TORCH_MODULE(Bottleneck);

class ResNetImpl : public ClassifierImpl, public BatchNormFoldable {
 public:
  explicit ResNetImpl(const ResNetOptions& options);
  torch::Tensor forward_features(torch::Tensor images) override;
  torch::Tensor forward_head(torch::Tensor features) override;
  std::vector<torch::Tensor> head_parameters() override;
  int64_t fold_batch_norm() override;  // the stem's conv1/bn1 (the blocks fold themselves)

  const ResNetOptions options;
  torch::nn::Conv2d conv1{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr};
  torch::nn::Sequential layer1{nullptr}, layer2{nullptr}, layer3{nullptr}, layer4{nullptr};
  torch::nn::Linear fc{nullptr};

 private:
  torch::nn::Sequential make_stage(int64_t& in_planes, int64_t planes, int64_t blocks, int64_t stride);
  bool folded_ = false;
};

}  // namespace pneumoscan
