// The service's metrics in Prometheus text: every line parses, counters and
// histograms hold what was recorded.
#include <gtest/gtest.h>

#include <string>

#include "serve/prometheus.h"
#include "serve_support.h"

namespace pneumoscan {
namespace {

using test::parse_prometheus;

TEST(ServeMetricsTest, RendersCountersHistogramsAndQueueDepth) {
  ServeMetrics metrics;
  metrics.set_queue_depth_source([] { return size_t{3}; });
  metrics.record_request("/api/v1/predict", 200, 0.02);
  metrics.record_request("/api/v1/predict", 200, 0.3);
  metrics.record_request("/api/v1/predict", 400, 0.001);
  metrics.record_batch(1);
  metrics.record_batch(5);
  const auto samples = parse_prometheus(metrics.render_prometheus());
  EXPECT_EQ(samples.at(R"(pneumoscan_http_requests_total{endpoint="/api/v1/predict",status="200"})"), 2);
  EXPECT_EQ(samples.at(R"(pneumoscan_http_errors_total{endpoint="/api/v1/predict"})"), 1);
  EXPECT_EQ(samples.at(R"(pneumoscan_http_request_duration_seconds_bucket{le="0.025"})"), 2);
  EXPECT_EQ(samples.at(R"(pneumoscan_http_request_duration_seconds_bucket{le="+Inf"})"), 3);
  EXPECT_EQ(samples.at(R"(pneumoscan_batch_size_bucket{le="4"})"), 1);
  EXPECT_EQ(samples.at(R"(pneumoscan_batch_size_bucket{le="8"})"), 2);
  EXPECT_EQ(samples.at("pneumoscan_batch_size_sum"), 6);
  EXPECT_EQ(samples.at("pneumoscan_queue_depth"), 3);
}

}  // namespace
}  // namespace pneumoscan
