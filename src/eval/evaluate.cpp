#include "eval/evaluate.h"

#include "core/errors.h"
#include "data/loader.h"
#include "eval/predict_cache.h"
#include "eval/shift.h"

namespace pneumoscan {

Evaluation evaluate_model(LoadedModel& model, const std::vector<Sample>& samples, int batch_size, int threads,
                          double threshold_override, bool with_shifts) {
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
  const auto& names = model.metadata.class_names;
  if (names.size() > 2) {
    std::vector<float> known_probabilities;
    std::vector<int> known_labels;
    const size_t k = names.size();
    for (size_t i = 0; i < evaluation.samples.size(); ++i) {
      const int c = class_index(evaluation.samples[i], names);
      if (c < 0) continue;
      known_labels.push_back(c);
      known_probabilities.insert(known_probabilities.end(), predictions.class_probabilities.begin() + i * k,
                                 predictions.class_probabilities.begin() + (i + 1) * k);
    }
    if (!known_labels.empty())
      evaluation.classes = compute_multiclass_metrics(known_probabilities, known_labels, names, threshold);
  }
  for (const AcquisitionShift& shift : with_shifts ? acquisition_shifts() : std::vector<AcquisitionShift>{}) {
    const CachePredictions p = predict_cache(*model.net, cache.transformed(shift.apply), batch_size, std::nullopt, device);
    evaluation.shifted.emplace_back(shift.name, compute_metrics(p.probabilities, p.labels, threshold));
  }
  evaluation.probabilities = std::move(predictions.probabilities);
  evaluation.labels = std::move(predictions.labels);
  return evaluation;
}

}  // namespace pneumoscan
