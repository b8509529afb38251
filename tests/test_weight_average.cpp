// Tests of src/train/weight_average (the exponential moving average of the
// weights) and of training with it (TrainConfig::ema_decay): the average's
// arithmetic and warm-up against hand-computed values, its refusal of a
// checkpoint's average that does not fit, and a run that saves the average,
// checkpoints it and resumes to the same weights, bit for bit, as a run never
// interrupted.
#include <torch/torch.h>

#include "core/errors.h"
#include "model_file/archive.h"
#include "model_file/model_file.h"
#include "models/torch_archive.h"
#include "test_support.h"
#include "train/checkpoint.h"
#include "train/config.h"
#include "train/weight_average.h"
#include "training_support.h"

using namespace pneumoscan;

namespace {

// One weight and one integer buffer, set by hand.
struct Tiny : torch::nn::Module {
  torch::Tensor w = register_parameter("w", torch::zeros({2}));
  torch::Tensor count = register_buffer("count", torch::zeros({1}, torch::kInt64));
};

}  // namespace

// d_n = min(decay, (1 + n) / (10 + n)): 0.1, then 2/11, then 0.25 capped by decay 0.2.
TEST(WeightAverage, FollowsTheWarmedUpDecayByHand) {
  Tiny net;
  WeightAverage average(net, 0.2);
  const torch::NoGradGuard no_grad;
  double expected = 0;
  const double decays[] = {0.1, 2.0 / 11.0, 0.2};
  for (int step = 0; step < 3; ++step) {
    const double w = 10.0 * (step + 1);
    net.w.fill_(w);
    net.count.fill_(step + 1);
    average.update();
    expected = decays[step] * expected + (1 - decays[step]) * w;
  }
  EXPECT_EQ(average.updates(), 3);
  const NamedTensors& averaged = average.weights();
  ASSERT_EQ(averaged.size(), 2u);
  EXPECT_EQ(averaged[0].first, "w");
  EXPECT_NEAR(averaged[0].second[0].item<double>(), expected, 1e-5);
  EXPECT_NEAR(averaged[0].second[1].item<double>(), expected, 1e-5);
  EXPECT_EQ(averaged[1].second.item<int64_t>(), 3);  // counters are copied, not averaged
  EXPECT_EQ(net.w[0].item<float>(), 30.0f);          // the network itself is left alone
}

TEST(WeightAverage, DecayZeroIsTheLastStep) {
  Tiny net;
  WeightAverage average(net, 0.0);
  net.w.data().fill_(5);
  average.update();
  EXPECT_EQ(average.weights()[0].second[0].item<float>(), 5.0f);
}

TEST(WeightAverage, RefusesADecayOutsideZeroToOne) {
  Tiny net;
  EXPECT_THROW(WeightAverage(net, 1.0), UsageError);
  EXPECT_THROW(WeightAverage(net, -0.1), UsageError);
  TrainConfig config;
  config.ema_decay = 1.0;
  EXPECT_THROW(validate(config), UsageError);
  config.ema_decay = 0.999;
  EXPECT_NO_THROW(validate(config));
}

TEST(WeightAverage, RestoreRefusesAnAverageThatDoesNotFit) {
  Tiny net;
  WeightAverage average(net, 0.5);
  const NamedTensors fits = {{"w", torch::ones({2})}, {"count", torch::ones({1}, torch::kInt64)}};
  average.restore(fits, 7, "run.ckpt");
  EXPECT_EQ(average.updates(), 7);
  EXPECT_EQ(average.weights()[0].second[1].item<float>(), 1.0f);
  for (const NamedTensors& bad :
       {NamedTensors{{"w", torch::ones({3})}, {"count", torch::ones({1}, torch::kInt64)}},
        NamedTensors{{"v", torch::ones({2})}, {"count", torch::ones({1}, torch::kInt64)}},
        NamedTensors{{"w", torch::ones({2})}, {"count", torch::ones({1})}},
        NamedTensors{{"w", torch::ones({2})}}}) {
    try {
      average.restore(bad, 1, "run.ckpt");
      FAIL() << "an average that does not fit was restored";
    } catch (const ModelFileError& e) {
      EXPECT_EQ(std::string(e.what()),
                "run.ckpt: damaged checkpoint: its weight average does not fit the network");
    }
  }
  EXPECT_THROW(average.restore(fits, -1, "run.ckpt"), ModelFileError);
}

// Training with an average: after one epoch (the best, being the only one)
// the model file holds the average, not the last step's weights, and the
// checkpoint carries the average and its step count; resumed to 2 epochs it
// ends bit for bit where an uninterrupted run does. Resuming with another
// decay is refused.
TEST(WeightAverage, TrainingSavesTheAverageAndResumesExactly) {
  PNEUMOSCAN_REQUIRE_SHARED(root, "data/chest_xray");
  const TrainValSplit split = test::small_real_split(root, 96, 32, 3);
  test::TempDir dir;
  TrainConfig config = test::quick_config(64, 1, 32, 7);
  config.ema_decay = 0.9;
  const std::string resumed = dir / "resumed.psmodel", straight = dir / "straight.psmodel";
  train_model(split.train, split.val, config, resumed);

  c10::IValue archive;
  const nlohmann::json progress = open_checkpoint(checkpoint_path(resumed), archive);
  EXPECT_EQ(progress.at("ema_updates").get<int64_t>(), (static_cast<int64_t>(split.train.size()) + 31) / 32);
  const NamedTensors live = from_dict(archive_attribute(archive, "weights"), "live");
  const NamedTensors averaged = from_dict(archive_attribute(archive, "ema_weights"), "average");
  const NamedTensors saved = state_dict(*load_model(resumed).net);
  ASSERT_EQ(saved.size(), averaged.size());
  bool differs_from_live = false;
  for (size_t i = 0; i < saved.size(); ++i) {
    ASSERT_EQ(saved[i].first, averaged[i].first);
    EXPECT_TRUE(torch::equal(saved[i].second, averaged[i].second)) << saved[i].first;
    if (!torch::equal(saved[i].second, live[i].second)) differs_from_live = true;
  }
  EXPECT_TRUE(differs_from_live) << "the model file holds the last step's weights, not their average";

  TrainConfig other = config;
  other.epochs = 2;
  other.ema_decay = 0.99;
  EXPECT_THROW(train_model(split.train, split.val, other, resumed, true), UsageError);
  config.epochs = 2;
  const TrainResult continued = train_model(split.train, split.val, config, resumed, true);
  const TrainResult whole = train_model(split.train, split.val, config, straight);
  EXPECT_EQ(continued.history.size(), 2u);
  EXPECT_EQ(continued.best_epoch, whole.best_epoch);
  const NamedTensors a = state_dict(*load_model(straight).net), b = state_dict(*load_model(resumed).net);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(torch::equal(a[i].second, b[i].second)) << a[i].first;
}
