#include "serve/prometheus.h"

#include <algorithm>
#include <sstream>

namespace pneumoscan {
namespace {

std::string format_number(double value) {
  std::ostringstream out;
  out.precision(10);
  out << value;
  return out.str();
}

}  // namespace

Histogram::Histogram(std::vector<double> upper_bounds)
    : upper_bounds_(std::move(upper_bounds)), counts_(upper_bounds_.size() + 1, 0) {}

void Histogram::observe(double value) {
  const size_t bucket =
      std::lower_bound(upper_bounds_.begin(), upper_bounds_.end(), value) - upper_bounds_.begin();
  ++counts_[bucket];
  sum_ += value;
  ++count_;
}

std::string Histogram::render(const std::string& name) const {
  std::ostringstream out;
  uint64_t cumulative = 0;
  for (size_t i = 0; i < upper_bounds_.size(); ++i) {
    cumulative += counts_[i];
    out << name << "_bucket{le=\"" << format_number(upper_bounds_[i]) << "\"} " << cumulative << "\n";
  }
  out << name << "_bucket{le=\"+Inf\"} " << count_ << "\n";
  out << name << "_sum " << format_number(sum_) << "\n";
  out << name << "_count " << count_ << "\n";
  return out.str();
}

ServeMetrics::ServeMetrics()
    : latency_seconds_({0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}),
      batch_size_({1, 2, 4, 8, 16, 32, 64, 128}) {}

void ServeMetrics::record_request(const std::string& endpoint, int status, double seconds) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++requests_[{endpoint, status}];
  if (status >= 400) ++errors_[endpoint];
  latency_seconds_.observe(seconds);
}

void ServeMetrics::record_batch(int batch_size) {
  std::lock_guard<std::mutex> lock(mutex_);
  batch_size_.observe(batch_size);
}

void ServeMetrics::set_queue_depth_source(std::function<size_t()> source) {
  std::lock_guard<std::mutex> lock(mutex_);
  queue_depth_ = std::move(source);
}

std::string ServeMetrics::render_prometheus() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::ostringstream out;
  out << "# HELP pneumoscan_http_requests_total HTTP requests answered, by endpoint and status.\n"
      << "# TYPE pneumoscan_http_requests_total counter\n";
  for (const auto& [key, count] : requests_)
    out << "pneumoscan_http_requests_total{endpoint=\"" << key.first << "\",status=\"" << key.second << "\"} "
        << count << "\n";
  out << "# HELP pneumoscan_http_errors_total HTTP responses with status >= 400, by endpoint.\n"
      << "# TYPE pneumoscan_http_errors_total counter\n";
  for (const auto& [endpoint, count] : errors_)
    out << "pneumoscan_http_errors_total{endpoint=\"" << endpoint << "\"} " << count << "\n";
  out << "# HELP pneumoscan_http_request_duration_seconds Time from parsed request headers to response.\n"
      << "# TYPE pneumoscan_http_request_duration_seconds histogram\n"
      << latency_seconds_.render("pneumoscan_http_request_duration_seconds");
  out << "# HELP pneumoscan_batch_size Inputs per batched forward pass.\n"
      << "# TYPE pneumoscan_batch_size histogram\n"
      << batch_size_.render("pneumoscan_batch_size");
  out << "# HELP pneumoscan_queue_depth Predict requests waiting for a forward pass.\n"
      << "# TYPE pneumoscan_queue_depth gauge\n"
      << "pneumoscan_queue_depth " << (queue_depth_ ? queue_depth_() : 0) << "\n";
  return out.str();
}

}  // namespace pneumoscan
