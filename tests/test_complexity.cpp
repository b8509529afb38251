// Multiply-add counts against published figures (torchvision's "GFLOPS" column
// counts multiply-adds) and against a hand count; forward timing.
#include <torch/torch.h>

#include <cstdio>

#include "models/autoencoder.h"
#include "models/complexity.h"
#include "models/registry.h"
#include "test_support.h"

using namespace pneumoscan;

namespace {

// conv 1->4 (3x3, padding 1) on 8x8, then linear 256 -> 2.
struct TinyNetImpl : ClassifierImpl {
  torch::nn::Conv2d conv{torch::nn::Conv2dOptions(1, 4, 3).padding(1)};
  torch::nn::Linear fc{256, 2};
  TinyNetImpl() {
    register_module("conv", conv);
    register_module("fc", fc);
  }
  torch::Tensor forward_features(torch::Tensor x) override { return torch::relu(conv(x)); }
  torch::Tensor forward_head(torch::Tensor f) override { return fc(f.flatten(1)); }
  std::vector<torch::Tensor> head_parameters() override { return fc->parameters(); }
};

}  // namespace

TEST(Complexity, CountsConvolutionAndLinearOnceEach) {
  TinyNetImpl net;
  // conv: 8*8*4 outputs x 1*3*3; linear: 2 outputs x 256 (linear runs addmm inside: not counted twice).
  EXPECT_EQ(count_multiply_adds(net, 1, 8), 8 * 8 * 4 * 9 + 2 * 256);
  net.train();
  count_multiply_adds(net, 1, 8);
  EXPECT_TRUE(net.is_training()) << "the mode must be restored";
}

TEST(Complexity, MultiplyAddsMatchPublishedFiguresWithinTwoPercent) {
  // 224x224, 3 channels, 1000 classes; giga multiply-adds as torchvision and the papers report them.
  const std::vector<std::pair<std::string, double>> published = {
      {"resnet18", 1.814}, {"resnet50", 4.09}, {"vgg16", 15.47}, {"mobilenet-v2", 0.30}, {"alexnet", 0.71}};
  for (const auto& [architecture, giga] : published) {
    Classifier net = create_model({architecture, 224, 3, 1000});
    const double counted = 1e-9 * static_cast<double>(count_multiply_adds(*net, 3, 224));
    EXPECT_NEAR(counted, giga, 0.02 * giga) << architecture;
    std::printf("%-13s %.3f G multiply-adds (published %.3f G)\n", architecture.c_str(), counted, giga);
  }
}

TEST(Complexity, MultiplyAddsGrowWithTheImageArea) {
  // resnet18 pools globally, so one network runs at both sizes.
  Classifier net = create_model({"resnet18", 64});
  const int64_t at64 = count_multiply_adds(*net, 1, 64), at128 = count_multiply_adds(*net, 1, 128);
  EXPECT_GT(at64, 0);
  EXPECT_GT(at128, 3 * at64);  // the convolutions scale with the area, the head does not
  EXPECT_LT(at128, 4 * at64 + 1);
}

TEST(Complexity, ForwardTimeIsMeasured) {
  Classifier net = create_model({"small-cnn", 64});
  const double seconds = measure_forward_seconds(*net, 1, 64, 3);
  EXPECT_GT(seconds, 0.0);
  EXPECT_LT(seconds, 5.0);
}

TEST(Complexity, AnyNetworkIsCountedThroughItsOwnForward) {
  // The autoencoder's encoder, by hand: 3x3 convolutions 1->32 (112 px out), 32->64 (56), 64->128 (28),
  // 128->256 (14): output elements x in_channels x 9 each.
  const int64_t expected =
      32 * 112 * 112 * 1 * 9 + 64 * 56 * 56 * 32 * 9 + 128 * 28 * 28 * 64 * 9 + 256 * 14 * 14 * 128 * 9;
  Autoencoder net;
  const torch::Tensor image = torch::rand({1, 1, 224, 224});
  EXPECT_EQ(count_multiply_adds(*net, [&] { net->encode(image); }), expected);
  EXPECT_GT(measure_forward_seconds(
                *net, [&] { net->encode(image); }, 1),
            0.0);
  // The decoder mirrors it with transposed convolutions, whose work follows their input (each input
  // element meets the whole 3x3 kernel for every output channel): 256->128 on 14 px, 128->64 on 28,
  // 64->32 on 56, 32->1 on 112: the same count again.
  EXPECT_EQ(count_multiply_adds(*net, [&] { net->forward(image); }), 2 * expected);
}
