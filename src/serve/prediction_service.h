#pragma once
// The model behind the HTTP service: loaded once, shared by all request
// threads. Plain predictions go through the dynamic batcher; explanations
// (which need gradients) run one at a time outside it. A mutex keeps the two
// from using the network at once. With a case index, similar past cases
// (src/search) are found for a request that asks for them.
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "explain/heatmap.h"
#include "image/image.h"
#include "infer/predictor.h"
#include "search/similar_cases.h"
#include "serve/batcher.h"
#include "serve/prometheus.h"

namespace pneumoscan {

class PredictionService {
 public:
  // `index_path`: "" = no similar cases; else a case index built with this
  // model (refused with ModelFileError otherwise).
  PredictionService(const std::string& model_path, const BatcherConfig& batching, ServeMetrics& metrics,
                    const std::string& index_path = "");

  // {"probability", "label", "threshold", "model": {...}, "image": {...},
  //  "timing_ms": {"queue", "inference"}, "batch_size"[, "explanation": {...}]
  //  [, "similar": [{"path", "label", "patient", "similarity", "distance", "thumbnail"}]]
  //  [, "warnings": [the decoder's warnings]]}.
  // `similar_k` > 0 asks for that many similar cases (UsageError without an
  // index); `name` (the uploaded file's name) lets the query's own patient be
  // excluded. Throws OverloadedError when the batch queue is full, InputError
  // for an image check_diagnosable refuses.
  nlohmann::json predict(const Image& image, std::optional<ExplainMethod> explain, int64_t similar_k = 0,
                         const std::string& name = "");

  // {"cases": N, "kind": ...} of the loaded case index, or null.
  nlohmann::json index_summary() const;

  const ModelMetadata& metadata() const { return predictor_.metadata(); }
  // name, architecture, version (the model file's creation time), pneumoscan_version.
  nlohmann::json model_summary() const;
  size_t queue_depth() const { return batcher_.queue_depth(); }
  // Runs what is queued and stops the batch worker.
  void stop() { batcher_.stop(); }

 private:
  nlohmann::json similar_cases(const Image& image, int64_t k, const std::string& name);

  Predictor predictor_;
  std::unique_ptr<CaseFinder> finder_;
  std::mutex network_mutex_;
  Batcher batcher_;
};

}  // namespace pneumoscan
