// Tests of src/train/step: one optimisation step, and what a non-finite loss does.
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "models/losses.h"
#include "models/registry.h"
#include "test_support.h"
#include "train/step.h"

using namespace pneumoscan;

TEST(Step, LowersTheLossAndStopsAtANonFiniteOne) {
  torch::manual_seed(0);
  Classifier net = create_model({"small-cnn", 64, 1, 1});
  net->eval();  // no dropout: the loss is a function of the weights
  torch::optim::Adam optimizer(net->parameters(), torch::optim::AdamOptions(1e-4));
  const torch::Tensor x = torch::randn({8, 1, 64, 64});
  const torch::Tensor y = torch::tensor({0, 1, 0, 1, 1, 0, 1, 0}, torch::kInt64);
  const StepResult first = train_step(*net, optimizer, x, y);
  EXPECT_TRUE(first.finite);
  EXPECT_EQ(first.logits.sizes(), (std::vector<int64_t>{8, 1}));
  EXPECT_FALSE(first.logits.requires_grad());
  StepResult last = first;
  for (int i = 0; i < 4; ++i) last = train_step(*net, optimizer, x, y);
  EXPECT_LT(last.loss, first.loss);

  // A NaN input gives a NaN loss: reported, and the weights stay as they were.
  const torch::Tensor before = net->parameters().front().detach().clone();
  const StepResult bad = train_step(*net, optimizer, torch::full({8, 1, 64, 64}, NAN), y);
  EXPECT_FALSE(bad.finite);
  EXPECT_TRUE(torch::equal(net->parameters().front(), before));
}

TEST(Step, MixupDrawIsAPermutationWithLambdaInTheUnitInterval) {
  std::mt19937_64 rng(5);
  double sum = 0;
  for (int i = 0; i < 200; ++i) {
    const MixupDraw draw = draw_mixup(0.4, 9, rng);
    ASSERT_GE(draw.lambda, 0.0);
    ASSERT_LE(draw.lambda, 1.0);
    std::vector<int64_t> sorted = draw.permutation;
    std::sort(sorted.begin(), sorted.end());
    for (int64_t r = 0; r < 9; ++r) ASSERT_EQ(sorted[r], r);
    sum += draw.lambda;
  }
  EXPECT_NEAR(sum / 200, 0.5, 0.06);  // Beta(a, a) has mean 1/2 (sd of this mean about 0.025)
  std::mt19937_64 a(7), b(7);
  const MixupDraw first = draw_mixup(0.2, 5, a), again = draw_mixup(0.2, 5, b);
  EXPECT_EQ(first.lambda, again.lambda);
  EXPECT_EQ(first.permutation, again.permutation);
}

TEST(Step, MixupTrainsOnTheBlendAgainstBothTargets) {
  torch::manual_seed(0);
  Classifier net = create_model({"small-cnn", 64, 1, 3});
  net->eval();  // no dropout: the loss is a function of the weights and the input
  torch::optim::SGD optimizer(net->parameters(), torch::optim::SGDOptions(0.0));  // nothing moves
  const torch::Tensor x = torch::randn({4, 1, 64, 64});
  const torch::Tensor y = torch::tensor({0, 1, 2, 1}, torch::kInt64);
  StepOptions options;
  options.class_weights = {1.0, 0.5, 2.0};
  options.mixup = MixupDraw{0.3, {2, 0, 3, 1}};
  const StepResult mixed = train_step(*net, optimizer, x, y, options);

  const torch::Tensor partner = torch::tensor({2, 0, 3, 1}, torch::kInt64);
  {
    torch::NoGradGuard no_grad;
    const torch::Tensor logits = net->forward(x * 0.3 + x.index_select(0, partner) * 0.7);
    const double expected =
        0.3 * weighted_loss(logits, y, options.class_weights).item<double>() +
        0.7 * weighted_loss(logits, y.index_select(0, partner), options.class_weights).item<double>();
    EXPECT_NEAR(mixed.loss, expected, 1e-5);
  }

  // lambda 1 with any partner is the plain step.
  options.mixup = MixupDraw{1.0, {1, 0, 3, 2}};
  const StepResult whole = train_step(*net, optimizer, x, y, options);
  options.mixup.reset();
  EXPECT_NEAR(whole.loss, train_step(*net, optimizer, x, y, options).loss, 1e-6);

  options.mixup = MixupDraw{0.5, {0, 1}};  // a permutation of the wrong size
  EXPECT_THROW(train_step(*net, optimizer, x, y, options), c10::Error);
}
