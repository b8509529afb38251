// Tests of src/train/step: one optimisation step, and what a non-finite loss does.
#include <torch/torch.h>

#include <cmath>

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
