#pragma once
// The model behind the HTTP service: loaded once, shared by all request
// threads. Every request is one case analysis (case/case_analyzer.h); its
// forward-pass rows go through the dynamic batcher, so concurrent requests
// share passes; explanations (which need gradients) and similar-case searches
// run one at a time under the analyzer's network lock.
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "case/case_analyzer.h"
#include "explain/heatmap.h"
#include "image/image.h"
#include "infer/predictor.h"
#include "search/similar_cases.h"
#include "serve/batcher.h"
#include "serve/prometheus.h"

namespace pneumoscan {

class PredictionService {
 public:
  // `analysis`: the model, the case index ("" = no similar cases; else one
  // built with this model, refused with ModelFileError otherwise), device and precision.
  PredictionService(CaseAnalyzerOptions analysis, const BatcherConfig& batching, ServeMetrics& metrics);

  // The case result's JSON (case/case_analyzer.h's to_json: probability,
  // label, threshold, type, uncertainty, gate, image, warnings, timing_ms,
  // provenance; refused: "error" and the gate, no diagnosis) plus "model"
  // {name, architecture, version, pneumoscan_version}[, "explanation": {method,
  // width, height, overlay, heatmap, image (PNG data URLs)}][, "similar":
  // [{"path", "label", "patient", "similarity", "distance", "thumbnail"}]].
  // `similar_k` > 0 asks for that many similar cases (UsageError without an
  // index); `name` (the uploaded file's name) lets the query's own patient be
  // excluded. Throws OverloadedError when the batch queue is full.
  nlohmann::json predict(const Image& image, std::optional<ExplainMethod> explain, int64_t similar_k = 0,
                         const std::string& name = "");

  // {"cases": N, "kind": ...} of the loaded case index, or null.
  nlohmann::json index_summary() const;

  const ModelMetadata& metadata() const { return analyzer_.metadata(); }
  CaseAnalyzer& analyzer() { return analyzer_; }
  // name, architecture, version (the model file's creation time), pneumoscan_version.
  nlohmann::json model_summary() const;
  size_t queue_depth() const { return batcher_.queue_depth(); }
  // Runs what is queued and stops the batch worker.
  void stop() { batcher_.stop(); }

 private:
  nlohmann::json similar_cases(const std::vector<SimilarCase>& found) const;

  CaseAnalyzer analyzer_;
  Batcher batcher_;
};

}  // namespace pneumoscan
