#include "serve/prediction_service.h"

#include <chrono>

#include "core/errors.h"
#include "image/data_url.h"
#include "serve/explanation_images.h"

namespace pneumoscan {
namespace {
using Clock = std::chrono::steady_clock;

double ms_between(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}
}  // namespace

PredictionService::PredictionService(const std::string& model_path, const BatcherConfig& batching,
                                     ServeMetrics& metrics, const std::string& index_path)
    : predictor_(model_path),
      finder_(index_path.empty() ? nullptr
                                 : std::make_unique<CaseFinder>(index_path, predictor_, model_path)),
      batcher_(
          batching,
          [this](const torch::Tensor& inputs) {
            std::lock_guard<std::mutex> lock(network_mutex_);
            return predictor_.probabilities(inputs);
          },
          [&metrics](int batch_size) { metrics.record_batch(batch_size); }) {}

nlohmann::json PredictionService::model_summary() const {
  const ModelMetadata& m = predictor_.metadata();
  return {{"name", m.name},
          {"architecture", m.spec.architecture},
          {"version", m.created_at},
          {"pneumoscan_version", m.pneumoscan_version}};
}

nlohmann::json PredictionService::index_summary() const {
  if (!finder_) return nullptr;
  return {{"cases", finder_->index().size()}, {"kind", to_string(finder_->index().kind())}};
}

nlohmann::json PredictionService::similar_cases(const Image& image, int64_t k, const std::string& name) {
  if (!finder_) throw UsageError("this server has no case index for similar cases (start it with --index)");
  std::vector<SimilarCase> found;
  {
    std::lock_guard<std::mutex> lock(network_mutex_);
    found = finder_->find(image, name, k);
  }
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
  check_diagnosable(image, name.empty() ? "image" : name);
  // Preprocessing runs on the request's own thread; only the forward pass is shared.
  const torch::Tensor input = predictor_.input_tensor(image);
  double probability = 0, queue_ms = 0, inference_ms = 0;
  int batch_size = 1;
  nlohmann::json explanation;
  if (explain_method) {
    const Clock::time_point queued = Clock::now();
    Heatmap heatmap;
    {
      std::lock_guard<std::mutex> lock(network_mutex_);
      const Clock::time_point start = Clock::now();
      queue_ms = ms_between(queued, start);
      heatmap = explain(predictor_.net(), input, *explain_method);
      inference_ms = ms_between(start, Clock::now());
    }
    probability = heatmap.probability;
    const ExplanationImages images = render_explanation(image, heatmap);
    explanation = {{"method", heatmap.method},      {"width", images.width},
                   {"height", images.height},       {"overlay", images.overlay_png},
                   {"heatmap", images.heatmap_png}, {"image", images.image_png}};
  } else {
    const BatchedResult result = batcher_.submit(input).get();
    probability = result.probability;
    queue_ms = result.queue_ms;
    inference_ms = result.inference_ms;
    batch_size = result.batch_size;
  }
  nlohmann::json response = {
      {"probability", probability},
      {"label", predictor_.label_for(probability)},
      {"threshold", predictor_.metadata().threshold},
      {"model", model_summary()},
      {"image", {{"format", image.format}, {"width", image.width()}, {"height", image.height()}}},
      {"timing_ms", {{"queue", queue_ms}, {"inference", inference_ms}}},
      {"batch_size", batch_size}};
  if (!image.warnings.empty()) response["warnings"] = image.warnings;
  if (explain_method) response["explanation"] = std::move(explanation);
  if (similar_k > 0) response["similar"] = similar_cases(image, similar_k, name);
  return response;
}

}  // namespace pneumoscan
