#pragma once
// The HTTP service's task queue. cpp-httplib runs each connection, from accept
// to close, on one task: with its fixed ThreadPool, N idle or slow clients
// held all N threads and /api/v1/health waited behind them (80 idle
// connections: 6 s). This pool starts a worker whenever none is idle, up to
// `max_threads`, so a connection waits only when that many are open at once.
// Idle workers stay (threads that wait on a condition variable cost no CPU).
// `after_each_task` runs on the worker once a connection's task returned
// (the service uncounts the connection's client there).
#include <httplib.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace pneumoscan {

class GrowingThreadPool : public httplib::TaskQueue {
 public:
  explicit GrowingThreadPool(size_t max_threads, std::function<void()> after_each_task = {});
  ~GrowingThreadPool() override;

  void enqueue(std::function<void()> task) override;
  // Runs what is queued, then joins every worker. Idempotent.
  void shutdown() override;

  size_t threads() const;

 private:
  void work();

  const size_t max_threads_;
  const std::function<void()> after_each_task_;
  mutable std::mutex mutex_;
  std::condition_variable task_ready_;
  std::deque<std::function<void()>> tasks_;
  std::vector<std::thread> workers_;
  size_t idle_ = 0;
  bool stopping_ = false;
};

}  // namespace pneumoscan
