// train/optimizer: the optimiser over the trainable parameters, with one rate
// or discriminative rates (TrainConfig::feature_lr_scale), and training and
// resuming with two parameter groups.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <set>
#include <string>

#include "core/errors.h"
#include "models/registry.h"
#include "test_support.h"
#include "train/checkpoint.h"
#include "train/optimizer.h"
#include "training_support.h"

using namespace pneumoscan;

namespace {

TrainConfig frozen_start(double feature_lr_scale) {
  TrainConfig c;
  c.spec = {"mobilenet-v2", 64, 1, 2};
  c.freeze = "features";
  c.unfreeze_after = 2;
  c.feature_lr_scale = feature_lr_scale;
  return c;
}

std::set<const void*> identities(const std::vector<torch::Tensor>& tensors) {
  std::set<const void*> ids;
  for (const auto& t : tensors) ids.insert(t.unsafeGetTensorImpl());
  return ids;
}

// The largest change of any element of `params` against `before`.
double largest_change(const std::vector<torch::Tensor>& params,
                      const std::map<const void*, torch::Tensor>& before) {
  double largest = 0;
  for (const auto& p : params)
    largest = std::max(largest, (p.detach() - before.at(p.unsafeGetTensorImpl())).abs().max().item<double>());
  return largest;
}

}  // namespace

TEST(Optimizer, OneRateForEveryTrainableParameterByDefault) {
  const TrainConfig c = frozen_start(1.0);
  Classifier net = create_model(c.spec);
  auto frozen = make_optimizer(*net, c, 1, 1e-3);
  ASSERT_EQ(frozen->param_groups().size(), 1u);
  EXPECT_EQ(identities(frozen->param_groups()[0].params()), identities(net->head_parameters()));
  auto unfrozen = make_optimizer(*net, c, 3, 1e-3);
  ASSERT_EQ(unfrozen->param_groups().size(), 1u);
  EXPECT_EQ(unfrozen->param_groups()[0].params().size(), net->parameters().size());
  EXPECT_DOUBLE_EQ(unfrozen->param_groups()[0].options().get_lr(), 1e-3);
}

// Two groups once the features train: the head at the rate, the rest at a
// tenth of it, and a rate cut keeps the ratio. One Adam step moves each
// weight by about its group's rate (the first step is lr * g / |g|), so the
// features move ten times less than the head.
TEST(Optimizer, FeatureLrScaleGivesTheFeaturesTheirOwnRate) {
  for (const std::string optimizer : {"adam", "sgd"}) {
    TrainConfig c = frozen_start(0.1);
    c.optimizer = optimizer;
    Classifier net = create_model(c.spec);
    auto frozen = make_optimizer(*net, c, 1, 1e-3);
    ASSERT_EQ(frozen->param_groups().size(), 1u) << "the head alone trains while the features are frozen";
    EXPECT_DOUBLE_EQ(frozen->param_groups()[0].options().get_lr(), 1e-3);

    auto both = make_optimizer(*net, c, 3, 1e-3);
    auto& groups = both->param_groups();
    ASSERT_EQ(groups.size(), 2u) << optimizer;
    EXPECT_EQ(identities(groups[0].params()), identities(net->head_parameters()));
    EXPECT_EQ(groups[0].params().size() + groups[1].params().size(), net->parameters().size());
    EXPECT_DOUBLE_EQ(groups[0].options().get_lr(), 1e-3);
    EXPECT_DOUBLE_EQ(groups[1].options().get_lr(), 1e-4);
    set_learning_rate(*both, c, 5e-4);
    EXPECT_DOUBLE_EQ(groups[0].options().get_lr(), 5e-4);
    EXPECT_DOUBLE_EQ(groups[1].options().get_lr(), 5e-5);
  }

  TrainConfig c = frozen_start(0.1);
  c.weight_decay = 0;
  torch::manual_seed(3);
  Classifier net = create_model(c.spec);
  net->train();
  auto adam = make_optimizer(*net, c, 3, 1e-3);
  std::map<const void*, torch::Tensor> before;
  for (const auto& p : net->parameters()) before[p.unsafeGetTensorImpl()] = p.detach().clone();
  const torch::Tensor loss = torch::nn::functional::cross_entropy(net->forward(torch::randn({4, 1, 64, 64})),
                                                                  torch::tensor({0, 1, 0, 1}));
  loss.backward();
  adam->step();
  const double head = largest_change(adam->param_groups()[0].params(), before);
  const double features = largest_change(adam->param_groups()[1].params(), before);
  EXPECT_NEAR(head, 1e-3, 1e-4);
  EXPECT_NEAR(features, 1e-4, 1e-5);
}

// A run with discriminative rates stops after epoch 1 and resumes to epoch 2,
// ending where an uninterrupted run ends (the two groups' moments and rates
// come back); resuming with another scale is refused by name.
TEST(Optimizer, DiscriminativeRatesResumeExactlyAndAnotherScaleIsRefused) {
  PNEUMOSCAN_REQUIRE_SHARED(root, "data/chest_xray");
  const TrainValSplit split = test::small_real_split(root, 64, 32, 5);
  test::TempDir dir;
  TrainConfig config = test::quick_config(64, 1, 32, 11);
  config.feature_lr_scale = 0.25;
  const std::string resumed = dir / "resumed.psmodel", straight = dir / "straight.psmodel";
  train_model(split.train, split.val, config, resumed);

  TrainConfig other = config;
  other.epochs = 2;
  other.feature_lr_scale = 1.0;
  try {
    train_model(split.train, split.val, other, resumed, true);
    ADD_FAILURE() << "resuming with another feature learning-rate scale was accepted";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("feature_lr_scale = 0.25, not 1.0"), std::string::npos) << e.what();
  }
  config.epochs = 2;
  train_model(split.train, split.val, config, resumed, true);
  train_model(split.train, split.val, config, straight);
  const NamedTensors a = state_dict(*load_model(straight).net), b = state_dict(*load_model(resumed).net);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(torch::equal(a[i].second, b[i].second)) << a[i].first;
  EXPECT_DOUBLE_EQ(load_model(straight).metadata.training.at("config").at("feature_lr_scale").get<double>(),
                   0.25);
}
