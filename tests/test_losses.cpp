// Tests of src/models/losses: class weights and the weighted loss.
#include <torch/torch.h>

#include "models/losses.h"
#include "test_support.h"

using namespace pneumoscan;

TEST(Losses, ClassWeightsBalanceTheClasses) {
  const auto w = class_weights_from_counts(1341, 3875);
  EXPECT_NEAR(w[0] * 1341, w[1] * 3875, 1e-6);
  EXPECT_NEAR(w[0], 5216.0 / (2 * 1341), 1e-9);
}

TEST(Losses, WeightedLossEqualsHandComputed) {
  // Two samples, one of each class, sigmoid output.
  const torch::Tensor logits = torch::tensor({{0.0f}, {2.0f}});
  const torch::Tensor labels = torch::tensor({0, 1}, torch::kInt64);
  const double l0 = std::log(2.0);                   // -log(1 - sigmoid(0))
  const double l1 = std::log(1.0 + std::exp(-2.0));  // -log(sigmoid(2))
  const double expected = (3.0 * l0 + 1.0 * l1) / 4.0;
  EXPECT_NEAR(weighted_loss(logits, labels, {3.0, 1.0}).item<double>(), expected, 1e-6);
  // Softmax form gives the same for logits (0, z).
  const torch::Tensor two = torch::tensor({{0.0f, 0.0f}, {0.0f, 2.0f}});
  EXPECT_NEAR(weighted_loss(two, labels, {3.0, 1.0}).item<double>(), expected, 1e-6);
}

TEST(Losses, ThreeClassWeightsAndLossMatchHandComputed) {
  const auto w = class_weights_from_counts(std::vector<int64_t>{100, 200, 50});
  ASSERT_EQ(w.size(), 3u);
  EXPECT_NEAR(w[0], 350.0 / 300.0, 1e-9);
  EXPECT_NEAR(w[2] * 50, w[1] * 200, 1e-9);
  // Logits (0, 0, 0) -> loss log 3 for any class; (0, log 2, 0) for class 1 -> -log(2/4).
  const torch::Tensor logits = torch::tensor({{0.0f, 0.0f, 0.0f}, {0.0f, std::log(2.0f), 0.0f}});
  const torch::Tensor labels = torch::tensor({2, 1}, torch::kInt64);
  const double expected = (2.0 * std::log(3.0) + 1.0 * std::log(2.0)) / 3.0;
  EXPECT_NEAR(weighted_loss(logits, labels, {1.0, 1.0, 2.0}).item<double>(), expected, 1e-6);
  EXPECT_THROW(weighted_loss(logits, labels, {1.0, 1.0}), c10::Error);  // 3 outputs, 2 weights
}

TEST(Losses, LabelSmoothingMixesInTheUniformTarget) {
  const torch::Tensor logits = torch::tensor({{0.0f, std::log(3.0f)}});
  const torch::Tensor labels = torch::tensor({1}, torch::kInt64);
  // Target (0.05, 0.95): -(0.05 log 0.25 + 0.95 log 0.75).
  const double expected = -(0.05 * std::log(0.25) + 0.95 * std::log(0.75));
  EXPECT_NEAR(weighted_loss(logits, labels, {1.0, 1.0}, 0.1).item<double>(), expected, 1e-6);
}

TEST(Ssim, IdentityConstantsNoiseAndGradient) {
  torch::manual_seed(4);
  const torch::Tensor x = torch::rand({2, 1, 32, 32});
  EXPECT_NEAR(ssim(x, x).item<double>(), 1.0, 1e-5);
  // Two flat images: only the luminance term, (2 a b + C1) / (a^2 + b^2 + C1).
  // (float64: in float32, blur(x^2) - blur(x)^2 leaves ~1e-8 of rounding against C2 = 9e-4.)
  const torch::Tensor a = torch::full({1, 1, 16, 16}, 0.2, torch::kFloat64),
                      b = torch::full({1, 1, 16, 16}, 0.6, torch::kFloat64);
  EXPECT_NEAR(ssim(a, b).item<double>(), (2 * 0.2 * 0.6 + 1e-4) / (0.04 + 0.36 + 1e-4), 1e-5);
  // More noise, less similar; symmetric.
  const torch::Tensor slightly = (x + 0.05 * torch::randn_like(x)).clamp(0, 1);
  const torch::Tensor very = (x + 0.3 * torch::randn_like(x)).clamp(0, 1);
  EXPECT_GT(ssim(x, slightly).item<double>(), ssim(x, very).item<double>());
  EXPECT_NEAR(ssim(x, very).item<double>(), ssim(very, x).item<double>(), 1e-6);
  // Differentiable: a step along -grad(1 - ssim) raises the similarity.
  torch::Tensor y = very.clone().requires_grad_(true);
  (1 - ssim(x, y)).backward();
  const torch::Tensor stepped = (very - 0.5 * y.grad()).detach();
  EXPECT_GT(ssim(x, stepped).item<double>(), ssim(x, very).item<double>());
  EXPECT_THROW(ssim(x, torch::rand({2, 1, 8, 8})), c10::Error);
  EXPECT_THROW(ssim(torch::rand({1, 1, 8, 8}), torch::rand({1, 1, 8, 8})), c10::Error);
}
