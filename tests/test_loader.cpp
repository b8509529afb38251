// Tests of src/data/loader: the decoded cache and the batch stream.
#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>

#include "core/errors.h"
#include "data/loader.h"
#include "data/sample.h"
#include "test_support.h"

using namespace pneumoscan;

namespace {
std::vector<Sample> first_images(const std::string& train_dir, size_t per_class) {
  std::vector<Sample> samples;
  for (const auto& s : read_folder(train_dir)) {
    size_t have = 0;
    for (const auto& t : samples) have += t.label == s.label;
    if (have < per_class && s.split == "train") samples.push_back(s);
  }
  return samples;
}
}  // namespace

TEST(Loader, CacheDecodesAndReportsBadFiles) {
  PNEUMOSCAN_REQUIRE_SHARED(root, "data/chest_xray");
  test::TempDir dir;
  std::vector<Sample> samples = first_images(root, 5);
  ASSERT_EQ(samples.size(), 10u);
  const std::string bad = dir / "broken.jpeg";
  std::ofstream(bad) << "not a jpeg";
  samples.push_back({bad, kNormal, "broken", "train"});
  PreprocessConfig config;
  config.input_size = 64;
  ImageCache cache(samples, config, 2);
  EXPECT_EQ(cache.size(), 10u);
  ASSERT_EQ(cache.failures().size(), 1u);
  EXPECT_NE(cache.failures()[0].find("broken.jpeg"), std::string::npos);
  EXPECT_EQ(cache.image(0).rows, 64);
  EXPECT_EQ(cache.image(0).type(), CV_8UC1);
}

TEST(Loader, StreamCoversEveryImageOnceAndShufflesBySeed) {
  PNEUMOSCAN_REQUIRE_SHARED(root, "data/chest_xray");
  PreprocessConfig config;
  config.input_size = 32;
  ImageCache cache(first_images(root, 10), config, 2);
  ASSERT_EQ(cache.size(), 20u);
  BatchOptions options;
  options.batch_size = 6;
  options.shuffle = true;
  options.augment = true;
  auto order = [&](int epoch) {
    std::vector<size_t> seen;
    BatchStream stream(cache, options, epoch);
    EXPECT_EQ(stream.num_batches(), 4u);
    while (auto batch = stream.next()) {
      EXPECT_EQ(batch->images.size(1), 1);
      EXPECT_EQ(batch->images.size(2), 32);
      EXPECT_EQ(batch->images.size(0), batch->labels.size(0));
      EXPECT_TRUE(torch::isfinite(batch->images).all().item<bool>());
      seen.insert(seen.end(), batch->indices.begin(), batch->indices.end());
    }
    return seen;
  };
  const auto epoch1 = order(1);
  EXPECT_EQ(std::set<size_t>(epoch1.begin(), epoch1.end()).size(), 20u);
  EXPECT_EQ(order(1), epoch1);
  EXPECT_NE(order(2), epoch1);
}

TEST(Loader, BatchLabelsFollowSamples) {
  PNEUMOSCAN_REQUIRE_SHARED(root, "data/chest_xray");
  PreprocessConfig config;
  config.input_size = 32;
  ImageCache cache(first_images(root, 3), config, 1);
  const Batch batch = make_batch(cache, {0, 5, 3}, BatchOptions{}, 0);
  EXPECT_EQ(batch.labels[0].item<int64_t>(), cache.sample(0).label);
  EXPECT_EQ(batch.labels[1].item<int64_t>(), cache.sample(5).label);
  EXPECT_EQ(batch.labels[2].item<int64_t>(), cache.sample(3).label);
}

TEST(Loader, WeightedOrderDrawsInProportionAndRefusesBadWeights) {
  // 10 entries of class 0 and 30 of class 1, balanced: about as many draws of each class.
  std::vector<int> labels(40, 1);
  std::fill(labels.begin(), labels.begin() + 10, 0);
  BatchOptions options;
  options.shuffle = true;
  options.sample_weights = balanced_sample_weights(labels);
  EXPECT_DOUBLE_EQ(options.sample_weights[0], 1.0 / 10);
  EXPECT_DOUBLE_EQ(options.sample_weights[39], 1.0 / 30);
  size_t class0 = 0, draws = 0;
  for (int epoch = 1; epoch <= 50; ++epoch) {
    const std::vector<size_t> order = epoch_order(40, options, epoch);
    ASSERT_EQ(order.size(), 40u);
    for (size_t index : order) {
      ASSERT_LT(index, 40u);
      class0 += labels[index] == 0;
      ++draws;
    }
  }
  EXPECT_NEAR(static_cast<double>(class0) / draws, 0.5, 0.05);  // 2,000 draws: sd 0.011
  EXPECT_EQ(epoch_order(40, options, 3), epoch_order(40, options, 3));
  EXPECT_NE(epoch_order(40, options, 3), epoch_order(40, options, 4));

  options.sample_weights = {1.0, 2.0};
  EXPECT_THROW(epoch_order(3, options, 1), UsageError);
  options.sample_weights = {1.0, -1.0, 1.0};
  EXPECT_THROW(epoch_order(3, options, 1), UsageError);
  options.sample_weights = {0.0, 0.0, 0.0};
  EXPECT_THROW(epoch_order(3, options, 1), UsageError);
  options.sample_weights = {0.0, 0.0, 1.0};
  for (size_t index : epoch_order(3, options, 1)) EXPECT_EQ(index, 2u);
}
