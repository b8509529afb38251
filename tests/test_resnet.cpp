// Tests of src/models/resnet: parameter counts and names against torchvision,
// forward shapes.
#include <torch/torch.h>

#include <set>
#include <string>

#include "models/registry.h"
#include "models/resnet.h"
#include "test_support.h"

using namespace pneumoscan;

TEST(ResNet, ParameterCountsEqualTorchvision) {
  EXPECT_EQ(count_parameters(*create_model({"resnet18", 224, 3, 1000})), 11689512);
  EXPECT_EQ(count_parameters(*create_model({"resnet34", 224, 3, 1000})), 21797672);
  EXPECT_EQ(count_parameters(*create_model({"resnet50", 224, 3, 1000})), 25557032);
  // 1-channel stem, 2 classes: conv1 loses 2/3 of its 9,408 weights, fc is 512*2+2.
  EXPECT_EQ(count_parameters(*create_model({"resnet18", 224, 1, 2})), 11689512 - 6272 - 513000 + 1026);
}

TEST(ResNet, TorchvisionParameterNames) {
  Classifier net = create_model({"resnet18"});
  std::set<std::string> names;
  for (const auto& item : net->named_parameters()) names.insert(item.key());
  for (const auto& item : net->named_buffers()) names.insert(item.key());
  for (const char* expected :
       {"conv1.weight", "bn1.running_mean", "layer1.0.conv1.weight", "layer2.0.downsample.0.weight",
        "layer2.0.downsample.1.running_var", "layer4.1.bn2.bias", "fc.weight", "fc.bias"})
    EXPECT_TRUE(names.count(expected)) << expected;
}

TEST(ResNet, ForwardShapes) {
  Classifier net = create_model({"resnet18", 224, 1, 2});
  net->eval();
  torch::NoGradGuard no_grad;
  const torch::Tensor x = torch::randn({2, 1, 224, 224});
  EXPECT_EQ(net->forward_features(x).sizes(), (std::vector<int64_t>{2, 512, 7, 7}));
  EXPECT_EQ(net->forward(x).sizes(), (std::vector<int64_t>{2, 2}));
}
