#include "serve/prediction_service.h"

#include <future>

#include "core/errors.h"
#include "image/data_url.h"
#include "serve/explanation_images.h"

namespace pneumoscan {
PredictionService::PredictionService(CaseAnalyzerOptions analysis, const BatcherConfig& batching,
                                     ServeMetrics& metrics)
    : analyzer_(std::move(analysis)),
      batcher_(
          batching, [this](const torch::Tensor& rows) { return analyzer_.forward_rows(rows); },
          [&metrics](int batch_size) { metrics.record_batch(batch_size); }) {}

nlohmann::json PredictionService::model_summary() const {
  const ModelMetadata& m = analyzer_.metadata();
  return {{"name", m.name},
          {"architecture", architecture_summary(m)},
          {"version", m.created_at},
          {"pneumoscan_version", m.pneumoscan_version},
          {"precision", analyzer_.provenance().precision}};
}

nlohmann::json PredictionService::index_summary() const {
  const CaseFinder* finder = analyzer_.finder();
  if (finder == nullptr) return nullptr;
  nlohmann::json summary = {{"cases", finder->index().size()}, {"kind", to_string(finder->index().kind())}};
  // Only for a member's index, so the summary of a whole-model index reads as before.
  if (finder->index().model().member >= 0) summary["member"] = finder->index().model().member;
  return summary;
}

nlohmann::json PredictionService::similar_cases(const std::vector<SimilarCase>& found) const {
  nlohmann::json cases = nlohmann::json::array();
  for (const SimilarCase& c : found) {
    nlohmann::json item = to_json(c);
    try {  // a past case moved or deleted since indexing still gets its row
      item["thumbnail"] = jpeg_data_url(to_u8(decode_image(c.item.path)), 160);
    } catch (const Error&) {
      item["thumbnail"] = nullptr;
    }
    cases.push_back(std::move(item));
  }
  return cases;
}

nlohmann::json PredictionService::predict(const Image& image, std::optional<ExplainMethod> explain_method,
                                          int64_t similar_k, const std::string& name) {
  if (similar_k > 0 && analyzer_.finder() == nullptr)
    throw UsageError("this server has no case index for similar cases (start it with --index)");
  CaseRequest request;
  request.name = name.empty() ? "image" : name;
  request.explain = explain_method;
  request.similar_k = similar_k;
  // Each row is queued on its own so that rows of concurrent requests share forward passes.
  const auto batched = [this](const torch::Tensor& rows, CaseTiming& timing) {
    std::vector<std::future<BatchedResult>> pending;
    for (int64_t r = 0; r < rows.size(0); ++r) pending.push_back(batcher_.submit(rows.slice(0, r, r + 1)));
    std::vector<torch::Tensor> outputs;
    for (auto& future : pending) {
      const BatchedResult result = future.get();
      outputs.push_back(result.output);
      timing.queue_ms = std::max(timing.queue_ms, result.queue_ms);
      timing.inference_ms = std::max(timing.inference_ms, result.inference_ms);
      timing.batch_size = std::max(timing.batch_size, result.batch_size);
    }
    return torch::stack(outputs);
  };
  const CaseResult result = analyzer_.analyse(image, request, batched);
  nlohmann::json response = to_json(result);
  response["model"] = model_summary();
  if (result.heatmap) {
    const ExplanationImages images = render_explanation(image, *result.heatmap);
    response["explanation"] = {{"method", result.heatmap->method}, {"width", images.width},
                               {"height", images.height},          {"overlay", images.overlay_png},
                               {"heatmap", images.heatmap_png},    {"image", images.image_png}};
  }
  if (result.similar_requested && result.prediction) response["similar"] = similar_cases(result.similar);
  return response;
}

}  // namespace pneumoscan
