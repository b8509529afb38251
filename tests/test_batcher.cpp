// The service's batcher: concurrent inputs share forward passes and each gets
// its own result; a full queue refuses; a failing batch reaches every request.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "serve/batcher.h"

namespace pneumoscan {
namespace {

// Each input is a [1, 1, 1, 1] tensor holding its own value; its output row is [value, 2 * value].
torch::Tensor echo_batch(const torch::Tensor& inputs) {
  const torch::Tensor flat = inputs.reshape({inputs.size(0), 1});
  return torch::cat({flat, 2 * flat}, 1);
}

double value_of(const BatchedResult& result) {
  EXPECT_EQ(result.output.numel(), 2);
  EXPECT_NEAR(result.output[1].item<double>(), 2 * result.output[0].item<double>(), 1e-6);
  return result.output[0].item<double>();
}

TEST(BatcherTest, ConcurrentInputsShareForwardPassesAndGetTheirOwnResults) {
  std::mutex sizes_mutex;
  std::vector<int> sizes;
  BatcherConfig config;
  config.max_batch = 8;
  config.max_wait_ms = 20;
  Batcher batcher(
      config,
      [](const torch::Tensor& inputs) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        return echo_batch(inputs);
      },
      [&](int size) {
        std::lock_guard<std::mutex> lock(sizes_mutex);
        sizes.push_back(size);
      });
  constexpr int kRequests = 24;
  std::vector<double> results(kRequests, -1);
  std::vector<std::thread> threads;
  for (int i = 0; i < kRequests; ++i)
    threads.emplace_back([&, i] {
      results[i] = value_of(batcher.submit(torch::full({1, 1, 1, 1}, i / 100.0)).get());
    });
  for (auto& t : threads) t.join();
  for (int i = 0; i < kRequests; ++i) EXPECT_NEAR(results[i], i / 100.0, 1e-6);
  int total = 0, largest = 0;
  for (int size : sizes) {
    EXPECT_LE(size, config.max_batch);
    total += size;
    largest = std::max(largest, size);
  }
  EXPECT_EQ(total, kRequests);
  EXPECT_GT(largest, 1) << "no two concurrent inputs were batched";
}

TEST(BatcherTest, FullQueueRefusesAndStopRunsWhatIsQueued) {
  BatcherConfig config;
  config.max_batch = 64;
  config.max_wait_ms = 10000;  // the first input waits for company until stop()
  config.max_queue = 2;
  Batcher batcher(config, echo_batch);
  auto first = batcher.submit(torch::full({1, 1, 1, 1}, 0.25));
  auto second = batcher.submit(torch::full({1, 1, 1, 1}, 0.75));
  EXPECT_EQ(batcher.queue_depth(), 2u);
  EXPECT_THROW(batcher.submit(torch::full({1, 1, 1, 1}, 0.5)), OverloadedError);
  batcher.stop();
  EXPECT_NEAR(value_of(first.get()), 0.25, 1e-6);
  const BatchedResult last = second.get();
  EXPECT_NEAR(value_of(last), 0.75, 1e-6);
  EXPECT_EQ(last.batch_size, 2);
  EXPECT_THROW(batcher.submit(torch::full({1, 1, 1, 1}, 0.5)), OverloadedError);
}

TEST(BatcherTest, FailingBatchReachesEveryRequest) {
  Batcher batcher(BatcherConfig{},
                  [](const torch::Tensor&) -> torch::Tensor { throw std::runtime_error("forward failed"); });
  auto result = batcher.submit(torch::zeros({1, 1, 1, 1}));
  EXPECT_THROW(result.get(), std::runtime_error);
}

}  // namespace
}  // namespace pneumoscan
