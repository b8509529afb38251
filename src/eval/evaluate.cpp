#include "eval/evaluate.h"

#include "core/errors.h"
#include "data/loader.h"
#include "eval/predict_cache.h"

namespace pneumoscan {

Evaluation evaluate_model(LoadedModel& model, const std::vector<Sample>& samples, int batch_size, int threads,
                          double threshold_override) {
  for (const auto& s : samples)
    if (s.label != kNormal && s.label != kPneumonia) throw InputError(s.path, "has no NORMAL/PNEUMONIA label");
  if (samples.empty()) throw UsageError("no labelled images to evaluate");
  ImageCache cache(samples, model.metadata.preprocess, threads);
  Evaluation evaluation;
  evaluation.failures = cache.failures();
  evaluation.samples = cache.samples();
  if (cache.size() == 0) throw UsageError("none of the images could be decoded");
  to_channels_last(*model.net);
  const c10::Device device = model.net->parameters().front().device();
  CachePredictions predictions = predict_cache(*model.net, cache, batch_size, std::nullopt, device);
  const double threshold =
      threshold_override >= 0.0 && threshold_override <= 1.0 ? threshold_override : model.metadata.threshold;
  evaluation.metrics = compute_metrics(predictions.probabilities, predictions.labels, threshold);
  evaluation.probabilities = std::move(predictions.probabilities);
  evaluation.labels = std::move(predictions.labels);
  return evaluation;
}

}  // namespace pneumoscan
