#include "serve/batcher.h"

#include <torch/torch.h>

#include <algorithm>
#include <exception>

namespace pneumoscan {

Batcher::Batcher(BatcherConfig config, BatchFunction run_batch, BatchObserver on_batch)
    : config_(config), run_batch_(std::move(run_batch)), on_batch_(std::move(on_batch)) {
  if (config_.max_batch < 1) throw UsageError("max batch must be at least 1");
  if (config_.max_queue < 1) throw UsageError("max queue must be at least 1");
  if (config_.max_wait_ms < 0) throw UsageError("max wait must not be negative");
  worker_ = std::thread([this] { work(); });
}

Batcher::~Batcher() { stop(); }

std::future<BatchedResult> Batcher::submit(torch::Tensor input) {
  Pending pending{std::move(input), Clock::now(), {}};
  std::future<BatchedResult> result = pending.promise.get_future();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) throw OverloadedError("server is shutting down");
    if (queue_.size() >= static_cast<size_t>(config_.max_queue))
      throw OverloadedError("server overloaded: " + std::to_string(queue_.size()) +
                            " requests already queued (--max-queue); retry later");
    queue_.push_back(std::move(pending));
  }
  wake_.notify_one();
  return result;
}

size_t Batcher::queue_depth() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return queue_.size();
}

void Batcher::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (worker_.joinable()) worker_.join();
}

void Batcher::work() {
  const auto max_wait = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double, std::milli>(config_.max_wait_ms));
  const size_t max_batch = static_cast<size_t>(config_.max_batch);
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping and drained
    // Waiting items stay in the queue (and count towards max_queue) until their batch starts.
    const Clock::time_point deadline = queue_.front().submitted + max_wait;
    wake_.wait_until(lock, deadline, [&] { return stopping_ || queue_.size() >= max_batch; });
    const size_t n = std::min(queue_.size(), max_batch);
    std::vector<Pending> batch;
    batch.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      batch.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    lock.unlock();
    run(batch);
    lock.lock();
  }
}

void Batcher::run(std::vector<Pending>& batch) {
  const Clock::time_point start = Clock::now();
  try {
    std::vector<torch::Tensor> inputs;
    inputs.reserve(batch.size());
    for (const Pending& pending : batch) inputs.push_back(pending.input);
    const torch::Tensor outputs = run_batch_(torch::cat(inputs, 0));
    if (outputs.dim() < 1 || outputs.size(0) != static_cast<int64_t>(batch.size()))
      throw std::runtime_error("batch function returned " +
                               std::to_string(outputs.dim() < 1 ? 0 : outputs.size(0)) + " results for " +
                               std::to_string(batch.size()) + " inputs");
    const double inference_ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    if (on_batch_) on_batch_(static_cast<int>(batch.size()));
    for (size_t i = 0; i < batch.size(); ++i) {
      BatchedResult result;
      result.output = outputs[static_cast<int64_t>(i)];
      result.queue_ms = std::chrono::duration<double, std::milli>(start - batch[i].submitted).count();
      result.inference_ms = inference_ms;
      result.batch_size = static_cast<int>(batch.size());
      batch[i].promise.set_value(result);
    }
  } catch (...) {
    for (Pending& pending : batch) pending.promise.set_exception(std::current_exception());
  }
}

}  // namespace pneumoscan
