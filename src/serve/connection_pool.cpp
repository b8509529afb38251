#include "serve/connection_pool.h"

#include <algorithm>

#include "core/runtime.h"

namespace pneumoscan {

GrowingThreadPool::GrowingThreadPool(size_t max_threads, std::function<void()> after_each_task)
    : max_threads_(std::max<size_t>(1, max_threads)), after_each_task_(std::move(after_each_task)) {}

GrowingThreadPool::~GrowingThreadPool() { shutdown(); }

void GrowingThreadPool::enqueue(std::function<void()> task) {
  std::lock_guard<std::mutex> lock(mutex_);
  tasks_.push_back(std::move(task));
  // Idle workers will take the queued tasks; start one more for each task beyond them.
  if (tasks_.size() > idle_ && workers_.size() < max_threads_ && !stopping_)
    workers_.emplace_back([this] { work(); });
  task_ready_.notify_one();
}

void GrowingThreadPool::shutdown() {
  std::vector<std::thread> workers;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    workers.swap(workers_);
  }
  task_ready_.notify_all();
  for (std::thread& worker : workers) worker.join();
}

size_t GrowingThreadPool::threads() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return workers_.size();
}

void GrowingThreadPool::work() {
  single_threaded_here();  // a connection's tensor work must not start an OpenMP team of its own
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    ++idle_;
    task_ready_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
    --idle_;
    if (tasks_.empty()) return;  // stopping, and nothing left to run
    std::function<void()> task = std::move(tasks_.front());
    tasks_.pop_front();
    lock.unlock();
    task();
    if (after_each_task_) after_each_task_();
    lock.lock();
  }
}

}  // namespace pneumoscan
