// Tests of src/models/registry and the zoo it builds (AlexNet, VGG,
// GoogLeNet, DenseNet, MobileNet V1/V2, EfficientNet-B0; ResNet and the small
// CNN have their own files): parameter counts against the published ones,
// forward shapes, torchvision parameter names, torchvision ImageNet weights
// loading by name into MobileNetV2 and classifying two photos, unknown names,
// and one training step per registered architecture.
#include <torch/serialize.h>
#include <torch/torch.h>

#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <set>
#include <string>
#include <vector>

#include "core/errors.h"
#include "models/losses.h"
#include "models/registry.h"
#include "test_support.h"

using namespace pneumoscan;

namespace {

const std::vector<std::string> kZoo = {"alexnet",      "alexnet-small", "vgg16",          "vgg16-bn",
                                       "vgg19",        "vgg19-bn",      "googlenet",      "densenet121",
                                       "mobilenet-v1", "mobilenet-v2",  "efficientnet-b0"};

std::map<std::string, std::vector<int64_t>> parameter_shapes(torch::nn::Module& net) {
  std::map<std::string, std::vector<int64_t>> shapes;
  for (const auto& item : net.named_parameters()) shapes[item.key()] = item.value().sizes().vec();
  for (const auto& item : net.named_buffers()) shapes[item.key()] = item.value().sizes().vec();
  return shapes;
}

// torchvision state dict saved with torch.save -> name -> tensor.
std::map<std::string, torch::Tensor> load_state_dict(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const c10::IValue value = torch::pickle_load(bytes);
  std::map<std::string, torch::Tensor> dict;
  for (const auto& entry : value.toGenericDict()) dict[entry.key().toStringRef()] = entry.value().toTensor();
  return dict;
}

// ImageNet preprocessing of TF-slim MobileNet weights: RGB, centre square
// crop, bilinear resize to 224, x / 127.5 - 1, [1, 3, 224, 224].
torch::Tensor imagenet_input(const std::string& path) {
  cv::Mat bgr = cv::imread(path, cv::IMREAD_COLOR);
  if (bgr.empty()) throw std::runtime_error("cannot read " + path);
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  const int side = std::min(rgb.cols, rgb.rows);
  cv::Mat square = rgb(cv::Rect((rgb.cols - side) / 2, (rgb.rows - side) / 2, side, side));
  cv::Mat resized;
  cv::resize(square, resized, cv::Size(224, 224), 0, 0, cv::INTER_LINEAR);
  cv::Mat scaled;
  resized.convertTo(scaled, CV_32FC3, 1.0 / 127.5, -1.0);
  return torch::from_blob(scaled.data, {1, 224, 224, 3}, torch::kFloat32).permute({0, 3, 1, 2}).contiguous();
}

}  // namespace

TEST(Zoo, RegistryListsEveryArchitecture) {
  for (const std::string& name : kZoo) {
    const ArchitectureInfo& info = find_architecture(name);
    EXPECT_EQ(info.default_input_size, 224) << name;
    EXPECT_EQ(info.default_num_outputs, 2) << name;
  }
}

TEST(Zoo, ParameterCountsEqualPublished) {
  const std::vector<std::pair<std::string, int64_t>> published = {
      {"alexnet", 61100840},       {"vgg16", 138357544},      {"vgg19", 143667240},
      {"vgg16-bn", 138365992},     {"vgg19-bn", 143678248},   {"googlenet", 6624904},
      {"densenet121", 7978856},    {"mobilenet-v1", 4231976}, {"mobilenet-v2", 3504872},
      {"efficientnet-b0", 5288548}};
  for (const auto& [name, count] : published)
    EXPECT_EQ(count_parameters(*create_model({name, 224, 3, 1000})), count) << name;
  // The reduced AlexNet, counted by hand: convs 11x11x3x32, 5x5x32x64,
  // 3x3x64x128 (+ biases), dense 4608x1024, 1024x512, 512x1000 (+ biases).
  EXPECT_EQ(count_parameters(*create_model({"alexnet-small", 224, 3, 1000})), 5894184);
  EXPECT_EQ(count_parameters(*create_model({"alexnet-small", 224, 1, 2})), 5374466);
}

TEST(Zoo, ForwardShapesGrayTwoClasses) {
  // At 64 px (batch 2) every network's last feature map is 1x1 (AlexNets) or 2x2.
  const std::map<std::string, std::vector<int64_t>> feature_shapes = {
      {"alexnet", {2, 256, 1, 1}},         {"alexnet-small", {2, 128, 1, 1}},
      {"vgg16", {2, 512, 2, 2}},           {"vgg16-bn", {2, 512, 2, 2}},
      {"vgg19", {2, 512, 2, 2}},           {"vgg19-bn", {2, 512, 2, 2}},
      {"googlenet", {2, 1024, 2, 2}},      {"densenet121", {2, 1024, 2, 2}},
      {"mobilenet-v1", {2, 1024, 2, 2}},   {"mobilenet-v2", {2, 1280, 2, 2}},
      {"efficientnet-b0", {2, 1280, 2, 2}}};
  ASSERT_EQ(feature_shapes.size(), kZoo.size());
  torch::NoGradGuard no_grad;
  for (const std::string& name : kZoo) {
    torch::manual_seed(0);
    Classifier net = create_model({name, 64, 1, 2});
    net->eval();
    const torch::Tensor x = torch::randn({2, 1, 64, 64});
    const torch::Tensor features = net->forward_features(x);
    EXPECT_EQ(features.sizes().vec(), feature_shapes.at(name)) << name;
    const torch::Tensor logits = net->forward_head(features);
    EXPECT_EQ(logits.sizes().vec(), (std::vector<int64_t>{2, 2})) << name;
    EXPECT_TRUE(torch::isfinite(logits).all().item<bool>()) << name;
    EXPECT_TRUE(torch::allclose(net->forward(x), logits)) << name;
  }
}

TEST(Zoo, ThreeChannelStemAndDefaultSize) {
  torch::NoGradGuard no_grad;
  for (const std::string& name :
       {"googlenet", "densenet121", "mobilenet-v1", "mobilenet-v2", "efficientnet-b0"}) {
    Classifier net = create_model({name, 0, 3, 5});
    net->eval();
    const torch::Tensor features = net->forward_features(torch::randn({1, 3, 224, 224}));
    EXPECT_EQ(features.size(2), 7) << name;
    EXPECT_EQ(features.size(3), 7) << name;
    EXPECT_EQ(net->forward_head(features).sizes().vec(), (std::vector<int64_t>{1, 5})) << name;
  }
}

TEST(Zoo, RejectsWrongInput) {
  for (const std::string& name : kZoo) {
    Classifier net = create_model({name, 64, 1, 2});
    net->eval();
    torch::NoGradGuard no_grad;
    EXPECT_THROW(net->forward(torch::randn({1, 3, 64, 64})), c10::Error) << name;
    EXPECT_THROW(net->forward(torch::randn({1, 64, 64})), c10::Error) << name;
    EXPECT_THROW(net->forward_head(torch::randn({1, 7, 2, 2})), c10::Error) << name;
  }
  try {
    create_model({"vgg16", 64, 1, 2})->forward(torch::randn({1, 3, 64, 64}));
    FAIL();
  } catch (const c10::Error& e) {
    EXPECT_NE(std::string(e.what()).find("vgg16"), std::string::npos) << e.what();
  }
}

TEST(Zoo, TorchvisionParameterNames) {
  const std::map<std::string, std::vector<std::string>> expected = {
      {"alexnet",
       {"features.0.weight", "features.3.weight", "features.6.weight", "features.8.weight",
        "features.10.bias", "classifier.1.weight", "classifier.4.weight", "classifier.6.bias"}},
      {"alexnet-small",
       {"features.0.weight", "features.3.weight", "features.6.weight", "classifier.1.weight",
        "classifier.4.weight", "classifier.6.bias"}},
      {"vgg16",
       {"features.0.weight", "features.2.weight", "features.28.weight", "classifier.0.weight",
        "classifier.3.weight", "classifier.6.bias"}},
      {"vgg16-bn",
       {"features.0.weight", "features.1.running_var", "features.3.weight", "features.40.weight",
        "features.41.running_mean", "classifier.6.weight"}},
      {"vgg19", {"features.34.weight", "classifier.6.weight"}},
      {"vgg19-bn", {"features.49.weight", "features.50.running_var", "classifier.6.weight"}},
      {"googlenet",
       {"conv1.conv.weight", "conv1.bn.running_mean", "conv2.conv.weight", "conv3.bn.weight",
        "inception3a.branch1.conv.weight", "inception3a.branch2.0.conv.weight",
        "inception3a.branch2.1.bn.bias", "inception3b.branch3.1.conv.weight",
        "inception4e.branch4.1.conv.weight", "inception5b.branch4.1.bn.weight", "fc.weight", "fc.bias"}},
      {"densenet121",
       {"features.conv0.weight", "features.norm0.running_var",
        "features.denseblock1.denselayer1.norm1.weight", "features.denseblock1.denselayer1.conv1.weight",
        "features.denseblock1.denselayer6.norm2.bias", "features.denseblock1.denselayer6.conv2.weight",
        "features.transition1.norm.weight", "features.transition1.conv.weight",
        "features.denseblock3.denselayer24.conv2.weight", "features.transition3.conv.weight",
        "features.denseblock4.denselayer16.conv2.weight", "features.norm5.running_mean", "classifier.weight",
        "classifier.bias"}},
      {"mobilenet-v1",
       {"features.0.0.weight", "features.0.1.running_mean", "features.1.0.weight", "features.1.4.bias",
        "features.13.3.weight", "fc.weight"}},
      {"mobilenet-v2",
       {"features.0.0.weight", "features.0.1.running_var", "features.1.conv.0.0.weight",
        "features.1.conv.1.weight", "features.1.conv.2.bias", "features.2.conv.0.0.weight",
        "features.2.conv.1.0.weight", "features.2.conv.2.weight", "features.17.conv.3.running_mean",
        "features.18.0.weight", "features.18.1.bias", "classifier.1.weight", "classifier.1.bias"}},
      {"efficientnet-b0",
       {"features.0.0.weight", "features.0.1.running_mean", "features.1.0.block.0.0.weight",
        "features.1.0.block.1.fc1.weight", "features.1.0.block.1.fc2.bias", "features.1.0.block.2.0.weight",
        "features.2.0.block.0.0.weight", "features.2.0.block.1.0.weight", "features.2.0.block.2.fc1.weight",
        "features.2.0.block.2.fc2.bias", "features.2.1.block.3.1.running_var",
        "features.6.3.block.3.0.weight", "features.7.0.block.3.1.bias", "features.8.0.weight",
        "features.8.1.weight", "classifier.1.weight"}},
  };
  ASSERT_EQ(expected.size(), kZoo.size());
  for (const auto& [name, keys] : expected) {
    Classifier net = create_model({name, 224, 3, 1000});
    const auto shapes = parameter_shapes(*net);
    for (const std::string& key : keys) EXPECT_TRUE(shapes.count(key)) << name << ": " << key;
  }
  // Spot-check shapes that follow from the layouts.
  EXPECT_EQ(
      parameter_shapes(*create_model({"efficientnet-b0", 224, 3, 1000}))["features.6.0.block.1.0.weight"],
      (std::vector<int64_t>{672, 1, 5, 5}));
  EXPECT_EQ(parameter_shapes(*create_model({"googlenet", 224, 1, 2}))["inception3a.branch3.1.conv.weight"],
            (std::vector<int64_t>{32, 16, 3, 3}));
}

TEST(Zoo, MobileNetV2MatchesTorchvisionStateDict) {
  PNEUMOSCAN_REQUIRE_SHARED(path, "pretrained/mobilenet_v2_imagenet.pt");
  const auto state = load_state_dict(path);
  Classifier net = create_model({"mobilenet-v2", 224, 3, 1001});
  const auto shapes = parameter_shapes(*net);
  EXPECT_EQ(state.size(), shapes.size());
  for (const auto& [key, tensor] : state) {
    auto it = shapes.find(key);
    ASSERT_NE(it, shapes.end()) << "missing in the model: " << key;
    EXPECT_EQ(tensor.sizes().vec(), it->second) << key;
  }
  for (const auto& item : shapes)
    EXPECT_TRUE(state.count(item.first)) << "missing in the file: " << item.first;
}

TEST(Zoo, MobileNetV2ImageNetWeightsClassifyCheckImages) {
  PNEUMOSCAN_REQUIRE_SHARED(weights, "pretrained/mobilenet_v2_imagenet.pt");
  PNEUMOSCAN_REQUIRE_SHARED(chelsea, "pretrained/check/chelsea.png");
  PNEUMOSCAN_REQUIRE_SHARED(coffee, "pretrained/check/coffee.png");
  const auto state = load_state_dict(weights);
  Classifier net = create_model({"mobilenet-v2", 224, 3, 1001});
  {
    torch::NoGradGuard no_grad;
    size_t copied = 0;
    for (auto& item : net->named_parameters()) {
      item.value().copy_(state.at(item.key()));
      ++copied;
    }
    for (auto& item : net->named_buffers()) {
      item.value().copy_(state.at(item.key()));
      ++copied;
    }
    ASSERT_EQ(copied, state.size());
  }
  net->eval();
  torch::NoGradGuard no_grad;
  // Indices in the 1001-class (background = 0) labelling: 286 Egyptian cat, 968 espresso.
  for (const auto& [path, expected] :
       std::vector<std::pair<std::string, int64_t>>{{chelsea, 286}, {coffee, 968}}) {
    const torch::Tensor probabilities = torch::softmax(net->forward(imagenet_input(path)), 1)[0];
    const int64_t top1 = probabilities.argmax().item<int64_t>();
    const double p = probabilities[top1].item<double>();
    std::cout << "[          ] " << path << ": top-1 " << top1 << " p=" << p << "\n";
    EXPECT_EQ(top1, expected) << path << " (p=" << p << ")";
    EXPECT_GT(p, 0.2) << path;
  }
}

// The avgmax head: the same features (and names, so the ImageNet file loads),
// a 2560-wide classifier on [average, max] of each channel.
TEST(Zoo, MobileNetV2AvgMaxHeadSeesTheAverageAndTheMaximum) {
  torch::manual_seed(0);
  Classifier plain = create_model({"mobilenet-v2", 64, 1, 3});
  Classifier avgmax = create_model({"mobilenet-v2-avgmax", 64, 1, 3});
  auto plain_shapes = parameter_shapes(*plain);
  auto avgmax_shapes = parameter_shapes(*avgmax);
  EXPECT_EQ(avgmax_shapes.at("classifier.1.weight"), (std::vector<int64_t>{3, 2560}));
  plain_shapes.erase("classifier.1.weight");
  avgmax_shapes.erase("classifier.1.weight");
  EXPECT_EQ(plain_shapes, avgmax_shapes);
  EXPECT_EQ(count_parameters(*create_model({"mobilenet-v2-avgmax", 224, 3, 1000})), 3504872 + 1280 * 1000);

  avgmax->eval();
  torch::NoGradGuard no_grad;
  const auto params = avgmax->named_parameters();
  const torch::Tensor weight = params["classifier.1.weight"], bias = params["classifier.1.bias"];
  // Two feature maps with the same average per channel: one flat, one with all of it on one spot.
  const torch::Tensor flat = torch::full({1, 1280, 2, 2}, 1.0);
  torch::Tensor focal = torch::zeros({1, 1280, 2, 2});
  focal.index_put_({0, torch::indexing::Slice(), 0, 0}, 4.0);
  const torch::Tensor flat_pooled = torch::cat({torch::ones({1, 1280}), torch::ones({1, 1280})}, 1);
  const torch::Tensor focal_pooled = torch::cat({torch::ones({1, 1280}), torch::full({1, 1280}, 4.0)}, 1);
  EXPECT_TRUE(
      torch::allclose(avgmax->forward_head(flat), torch::addmm(bias, flat_pooled, weight.t()), 1e-5, 1e-5));
  EXPECT_TRUE(
      torch::allclose(avgmax->forward_head(focal), torch::addmm(bias, focal_pooled, weight.t()), 1e-5, 1e-5));
  EXPECT_FALSE(torch::allclose(avgmax->forward_head(flat), avgmax->forward_head(focal)));
  // The average-pooled head cannot tell the two apart.
  plain->eval();
  EXPECT_TRUE(torch::allclose(plain->forward_head(flat), plain->forward_head(focal), 1e-5, 1e-5));
  // ggml's habit: the wrong width is refused by name.
  EXPECT_THROW(avgmax->forward_head(torch::zeros({1, 1024, 2, 2})), c10::Error);
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
