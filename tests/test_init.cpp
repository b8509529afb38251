// Tests of src/models/init: the per-family initialisation rules.
#include <torch/torch.h>

#include <cmath>

#include "models/init.h"
#include "test_support.h"

using namespace pneumoscan;
namespace nn = torch::nn;

namespace {
struct Toy : nn::Module {
  nn::Conv2d conv{nullptr};
  nn::BatchNorm2d bn{nullptr};
  nn::Linear linear{nullptr};
  Toy() {
    conv = register_module("conv", nn::Conv2d(nn::Conv2dOptions(16, 64, 3).bias(true)));
    bn = register_module("bn", nn::BatchNorm2d(64));
    linear = register_module("linear", nn::Linear(256, 400));
  }
};
}  // namespace

TEST(Init, RulesFollowTheScheme) {
  torch::manual_seed(0);
  Toy toy;
  {
    torch::NoGradGuard no_grad;
    toy.bn->weight.fill_(3);
    toy.bn->bias.fill_(3);
  }
  init_weights(toy, {WeightInit::kKaimingFanOut, WeightInit::kNormal001, true, true});
  // He normal, fan_out = 64 * 3 * 3: std sqrt(2 / 576).
  EXPECT_NEAR(toy.conv->weight.std().item<double>(), std::sqrt(2.0 / 576), 0.003);
  EXPECT_EQ(toy.conv->bias.abs().sum().item<double>(), 0.0);
  EXPECT_TRUE(torch::equal(toy.bn->weight, torch::ones_like(toy.bn->weight)));
  EXPECT_EQ(toy.bn->bias.abs().sum().item<double>(), 0.0);
  EXPECT_NEAR(toy.linear->weight.std().item<double>(), 0.01, 0.0005);
  EXPECT_EQ(toy.linear->bias.abs().sum().item<double>(), 0.0);

  // kKeep and no bias rule leave LibTorch's initialisation alone.
  const torch::Tensor linear_before = toy.linear->weight.clone();
  {
    torch::NoGradGuard no_grad;
    toy.conv->bias.fill_(0.5);
  }
  init_weights(toy, {WeightInit::kKaimingFanIn, WeightInit::kKeep, false, false});
  EXPECT_NEAR(toy.conv->weight.std().item<double>(), std::sqrt(2.0 / (16 * 9)), 0.01);
  EXPECT_TRUE(torch::equal(toy.linear->weight, linear_before));
  EXPECT_EQ(toy.conv->bias.min().item<double>(), 0.5);

  init_weights(toy, {WeightInit::kKeep, WeightInit::kUniformOutFeatures, false, false});
  EXPECT_LE(toy.linear->weight.abs().max().item<double>(), 1.0 / std::sqrt(400.0) + 1e-7);
}
