#pragma once
// Dynamic batching for the HTTP service: requests that arrive close together
// share one forward pass. One worker thread takes up to max_batch queued
// inputs, waiting at most max_wait_ms after the oldest one arrived for more,
// runs the batch function once and fulfils each request's future.
#include <torch/types.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "core/errors.h"

namespace pneumoscan {

struct BatcherConfig {
  int max_batch = 16;      // inputs per forward pass
  double max_wait_ms = 5;  // how long the oldest input may wait for company
  int max_queue = 256;     // inputs waiting (not yet in a forward pass) before submit() refuses
};

struct BatchedResult {
  torch::Tensor output;     // this input's row of the batch function's [N, F] result: [F]
  double queue_ms = 0;      // submit -> start of its forward pass
  double inference_ms = 0;  // the forward pass (whole batch)
  int batch_size = 0;       // inputs in that forward pass
};

// The queue is full or the batcher is stopping: the caller should answer 503.
struct OverloadedError : Error {
  using Error::Error;
};

class Batcher {
 public:
  // Maps an [N, C, S, S] batch to [N, F] outputs (a row per input); only ever
  // called from the worker thread, so it needs no locking of its own against other batches.
  using BatchFunction = std::function<torch::Tensor(const torch::Tensor& inputs)>;
  // Told each batch's size (for metrics), from the worker thread.
  using BatchObserver = std::function<void(int batch_size)>;

  Batcher(BatcherConfig config, BatchFunction run_batch, BatchObserver on_batch = {});
  ~Batcher();
  Batcher(const Batcher&) = delete;
  Batcher& operator=(const Batcher&) = delete;

  // Queues one [1, C, S, S] input. Throws OverloadedError when max_queue
  // inputs are already waiting or after stop(). A failing batch function
  // reaches every request of that batch through its future.
  std::future<BatchedResult> submit(torch::Tensor input);

  // Inputs waiting for a forward pass.
  size_t queue_depth() const;

  // Refuses new inputs, runs everything already queued, joins the worker. Idempotent.
  void stop();

 private:
  using Clock = std::chrono::steady_clock;
  struct Pending {
    torch::Tensor input;
    Clock::time_point submitted;
    std::promise<BatchedResult> promise;
  };

  void work();
  void run(std::vector<Pending>& batch);

  const BatcherConfig config_;
  const BatchFunction run_batch_;
  const BatchObserver on_batch_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Pending> queue_;
  bool stopping_ = false;
  std::thread worker_;
};

}  // namespace pneumoscan
