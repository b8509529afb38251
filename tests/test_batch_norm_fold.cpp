// Tests of src/models/batch_norm_fold and NestedSequential's folding: a folded
// network gives the same outputs, with every BatchNorm of the families that
// fold gone from the forward pass.
#include <torch/torch.h>

#include <string>

#include "models/batch_norm_fold.h"
#include "models/classifier.h"
#include "models/registry.h"
#include "test_support.h"

using namespace pneumoscan;

namespace {

// Non-trivial BatchNorm statistics and affine parameters, as a trained network has.
void randomise_batch_norm(torch::nn::Module& net, uint64_t seed) {
  torch::manual_seed(seed);
  torch::NoGradGuard no_grad;
  for (auto& item : net.named_buffers()) {
    if (item.key().find("running_mean") != std::string::npos) item.value().normal_(0, 0.5);
    if (item.key().find("running_var") != std::string::npos) item.value().uniform_(0.3, 2.0);
  }
  for (auto& item : net.named_parameters())
    if (item.value().dim() == 1 && item.key().find("fc") == std::string::npos &&
        item.key().find("classifier") == std::string::npos)
      item.value().uniform_(-0.5, 0.5).add_(item.key().find("weight") != std::string::npos ? 1.0 : 0.0);
}

int64_t batch_norm_count(torch::nn::Module& net) {
  int64_t n = 0;
  for (const auto& module : net.modules())
    if (dynamic_cast<torch::nn::BatchNorm2dImpl*>(module.get()) != nullptr) ++n;
  return n;
}

}  // namespace

TEST(BatchNormFold, SameOutputsWithEveryBatchNormFolded) {
  // Families whose every BatchNorm follows a convolution it can fold into.
  for (const char* arch : {"resnet18", "resnet50-v1", "mobilenet-v1", "mobilenet-v2"}) {
    Classifier net = create_model({arch, 96, 1, 3});
    randomise_batch_norm(*net, 7);
    net->eval();
    to_channels_last(*net);
    const torch::Tensor x = torch::randn({2, 1, 96, 96}).contiguous(torch::MemoryFormat::ChannelsLast);
    torch::NoGradGuard no_grad;
    const torch::Tensor before = net->forward(x);
    const torch::Tensor features_before = net->forward_features(x);
    EXPECT_EQ(fold_batch_norm(*net), batch_norm_count(*net)) << arch;
    const torch::Tensor after = net->forward(x);
    EXPECT_LT((after - before).abs().max().item<float>(), 1e-3 * (1 + before.abs().max().item<float>()))
        << arch;
    EXPECT_LT((net->forward_features(x) - features_before).abs().max().item<float>(),
              1e-3 * (1 + features_before.abs().max().item<float>()))
        << arch;
    EXPECT_EQ(fold_batch_norm(*net), 0) << arch << ": folding twice must change nothing";
    EXPECT_TRUE(torch::equal(net->forward(x), after)) << arch;
  }
}

TEST(BatchNormFold, PartlyFoldingFamiliesKeepTheirOutputs) {
  // DenseNet's BatchNorms come before their convolutions, EfficientNet's
  // blocks mix both: whatever they fold, the outputs stay.
  for (const char* arch : {"densenet121", "efficientnet-b0", "small-cnn", "vgg16-bn"}) {
    Classifier net = create_model({arch, 64, 1, 2});
    randomise_batch_norm(*net, 8);
    net->eval();
    const torch::Tensor x = torch::randn({1, 1, 64, 64});
    torch::NoGradGuard no_grad;
    const torch::Tensor before = net->forward(x);
    fold_batch_norm(*net);
    EXPECT_LT((net->forward(x) - before).abs().max().item<float>(),
              1e-3 * (1 + before.abs().max().item<float>()))
        << arch;
  }
}

TEST(BatchNormFold, RefusesANetworkInTrainingMode) {
  Classifier net = create_model({"resnet18", 64, 1, 2});
  net->train();
  EXPECT_THROW(fold_batch_norm(*net), c10::Error);
}
