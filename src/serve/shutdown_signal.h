#pragma once
// Turns the first SIGINT or SIGTERM into a call of `on_signal` on a helper
// thread (signal handlers may do almost nothing; stopping a server is not
// among it). A second signal kills the process the default way.
#include <functional>
#include <thread>

namespace pneumoscan {

class ShutdownOnSignal {
 public:
  explicit ShutdownOnSignal(std::function<void()> on_signal);
  ~ShutdownOnSignal();  // restores the default handlers
  ShutdownOnSignal(const ShutdownOnSignal&) = delete;
  ShutdownOnSignal& operator=(const ShutdownOnSignal&) = delete;

 private:
  std::thread watcher_;
};

}  // namespace pneumoscan
