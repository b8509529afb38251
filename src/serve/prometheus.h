#pragma once
// Counters and histograms of the HTTP service, rendered in the Prometheus
// text exposition format (version 0.0.4). Thread-safe.
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace pneumoscan {

// Cumulative histogram with fixed upper bounds (the +Inf bucket is implicit).
class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  void observe(double value);
  // "<name>_bucket{le=...}", "<name>_sum", "<name>_count" lines.
  std::string render(const std::string& name) const;

 private:
  std::vector<double> upper_bounds_;
  std::vector<uint64_t> counts_;  // per bucket, not cumulative; last = above every bound
  double sum_ = 0;
  uint64_t count_ = 0;
};

class ServeMetrics {
 public:
  ServeMetrics();

  // One answered HTTP request; `endpoint` is a route ("/api/v1/predict") or "other".
  void record_request(const std::string& endpoint, int status, double seconds);
  void record_batch(int batch_size);
  // Read at render time.
  void set_queue_depth_source(std::function<size_t()> source);

  std::string render_prometheus() const;

 private:
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, int>, uint64_t> requests_;  // (endpoint, status) -> count
  std::map<std::string, uint64_t> errors_;                    // endpoint -> responses with status >= 400
  Histogram latency_seconds_;
  Histogram batch_size_;
  std::function<size_t()> queue_depth_;
};

}  // namespace pneumoscan
