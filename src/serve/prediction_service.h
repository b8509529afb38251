#pragma once
// The model behind the HTTP service: loaded once, shared by all request
// threads. Plain predictions go through the dynamic batcher; explanations
// (which need gradients) run one at a time outside it. A mutex keeps the two
// from using the network at once.
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "explain/heatmap.h"
#include "image/image.h"
#include "infer/predictor.h"
#include "serve/batcher.h"
#include "serve/metrics.h"

namespace pneumoscan {

class PredictionService {
 public:
  PredictionService(const std::string& model_path, const BatcherConfig& batching, ServeMetrics& metrics);

  // {"probability", "label", "threshold", "model": {...}, "image": {...},
  //  "timing_ms": {"queue", "inference"}, "batch_size"[, "explanation": {...}]}.
  // Throws OverloadedError when the batch queue is full.
  nlohmann::json predict(const Image& image, std::optional<ExplainMethod> explain);

  const ModelMetadata& metadata() const { return predictor_.metadata(); }
  // name, architecture, version (the model file's creation time), pneumoscan_version.
  nlohmann::json model_summary() const;
  size_t queue_depth() const { return batcher_.queue_depth(); }
  // Runs what is queued and stops the batch worker.
  void stop() { batcher_.stop(); }

 private:
  Predictor predictor_;
  std::mutex network_mutex_;
  Batcher batcher_;
};

}  // namespace pneumoscan
