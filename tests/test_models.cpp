// Tests of src/models: parameter counts against the published architectures,
// forward shapes, torchvision names, and that a training step lowers the loss.
#include <torch/torch.h>

#include "core/errors.h"
#include "models/registry.h"
#include "models/resnet.h"
#include "models/small_cnn.h"
#include "test_support.h"
#include "train/losses.h"

using namespace pneumoscan;

TEST(SmallCnn, ParameterCountMatchesSeedStudy) {
  // The seed's Keras summary: 2,525,121 parameters with one sigmoid output,
  // counting BatchNorm's moving mean/variance (544 channels x 2) as Keras does.
  Classifier net = create_model({"small-cnn", 128, 1, 1});
  EXPECT_EQ(count_parameters_and_buffers(*net), 2525121);
  EXPECT_EQ(count_parameters(*net), 2525121 - 2 * (32 + 64 + 64 + 128 + 256));
}

TEST(SmallCnn, ForwardShapesAndFeatureMap) {
  Classifier net = create_model({"small-cnn", 128, 1, 2});
  net->eval();
  torch::NoGradGuard no_grad;
  const torch::Tensor x = torch::randn({3, 1, 128, 128});
  EXPECT_EQ(net->forward_features(x).sizes(), (std::vector<int64_t>{3, 256, 4, 4}));
  EXPECT_EQ(net->forward(x).sizes(), (std::vector<int64_t>{3, 2}));
}

TEST(SmallCnn, RejectsWrongInput) {
  Classifier net = create_model({"small-cnn", 128, 1, 1});
  EXPECT_THROW(net->forward(torch::randn({1, 3, 128, 128})), c10::Error);
  EXPECT_THROW(net->forward(torch::randn({1, 1, 96, 96})), c10::Error);  // head expects 4x4
  EXPECT_THROW(create_model({"small-cnn", 100, 1, 1}), Error);            // not a multiple of 32
}

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
  for (const char* expected : {"conv1.weight", "bn1.running_mean", "layer1.0.conv1.weight", "layer2.0.downsample.0.weight",
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

TEST(Registry, UnknownArchitectureListsKnownOnes) {
  try {
    create_model({"vgg99"});
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("small-cnn"), std::string::npos);
  }
}

// A few optimizer steps on one fixed batch must lower the loss, for every
// architecture (channels-last, as training runs). Dropout is held in eval mode
// so that the loss is a deterministic function of the weights, and the LR is
// small enough for the 4096-wide dense layers of AlexNet/VGG.
class TrainingStep : public ::testing::TestWithParam<std::string> {};

TEST_P(TrainingStep, LowersTheLoss) {
  torch::manual_seed(0);
  const int64_t side = 64;
  Classifier net = create_model({GetParam(), side, 1, 0});
  to_channels_last(*net);
  net->train();
  for (auto& module : net->modules(false))
    if (module->as<torch::nn::Dropout>() != nullptr) module->eval();
  // Deep plain stacks without BatchNorm (VGG-19) overshoot at 1e-4 on one batch.
  bool has_batchnorm = false;
  for (auto& module : net->modules(false)) has_batchnorm |= module->as<torch::nn::BatchNorm2d>() != nullptr;
  torch::optim::Adam optimizer(net->parameters(), torch::optim::AdamOptions(has_batchnorm ? 1e-4 : 2e-5));
  const torch::Tensor x = torch::randn({8, 1, side, side}).contiguous(torch::MemoryFormat::ChannelsLast);
  const torch::Tensor y = torch::tensor({0, 1, 0, 1, 1, 0, 1, 0}, torch::kInt64);
  double first = 0, last = 0;
  for (int step = 0; step < 5; ++step) {
    optimizer.zero_grad();
    torch::Tensor loss = weighted_loss(net->forward(x), y, {1.0, 1.0});
    loss.backward();
    optimizer.step();
    (step == 0 ? first : last) = loss.item<double>();
  }
  EXPECT_LT(last, first);
}

std::vector<std::string> architecture_names() {
  std::vector<std::string> names;
  for (const auto& info : architectures()) names.push_back(info.name);
  return names;
}

INSTANTIATE_TEST_SUITE_P(EveryArchitecture, TrainingStep, ::testing::ValuesIn(architecture_names()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string name = info.param;
                           for (char& c : name)
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           return name;
                         });
