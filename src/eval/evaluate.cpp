#include "eval/evaluate.h"

#include "core/errors.h"
#include "data/loader.h"
#include "eval/predict_cache.h"
#include "eval/shift.h"
#include "image/test_time_augmentation.h"

namespace pneumoscan {
namespace {

// The network's probabilities on `cache`, averaged over the test-time
// variants of each image too when `tta`.
CachePredictions predict(ClassifierImpl& net, const ImageCache& cache, int batch_size,
                         const c10::Device& device, bool tta) {
  CachePredictions predictions = predict_cache(net, cache, batch_size, std::nullopt, device);
  if (!tta) return predictions;
  for (int variant = 0; variant < kTtaVariants; ++variant) {
    const CachePredictions look = predict_cache(
        net, cache.transformed([variant](const cv::Mat& image) { return tta_variant(image, variant); }),
        batch_size, std::nullopt, device);
    for (size_t i = 0; i < look.probabilities.size(); ++i)
      predictions.probabilities[i] += look.probabilities[i];
    for (size_t i = 0; i < look.class_probabilities.size(); ++i)
      predictions.class_probabilities[i] += look.class_probabilities[i];
  }
  for (float& p : predictions.probabilities) p /= 1 + kTtaVariants;
  for (float& p : predictions.class_probabilities) p /= 1 + kTtaVariants;
  predictions.logits.clear();  // one look's logits would not match the averaged probabilities
  predictions.logit_width = 0;
  return predictions;
}

}  // namespace

Evaluation evaluate_model(LoadedModel& model, const std::vector<Sample>& samples,
                          const EvaluateOptions& options, const ProgressCallback& progress) {
  const int batch_size = options.batch_size;
  const bool tta = options.test_time_augmentation;
  const double threshold_override = options.threshold_override;
  for (const auto& s : samples)
    if (s.label != kNormal && s.label != kPneumonia)
      throw InputError(s.path, "has no NORMAL/PNEUMONIA label");
  if (samples.empty()) throw UsageError("no labelled images to evaluate");
  ImageCache cache(samples, model.metadata.preprocess, options.threads, progress);
  Evaluation evaluation;
  evaluation.failures = cache.failures();
  evaluation.samples = cache.samples();
  if (cache.size() == 0) throw UsageError("none of the images could be decoded");
  to_channels_last(*model.net);
  const c10::Device device = model.net->parameters().front().device();
  CachePredictions predictions = predict(*model.net, cache, batch_size, device, tta);
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
  for (const AcquisitionShift& shift :
       options.with_shifts ? acquisition_shifts() : std::vector<AcquisitionShift>{}) {
    const CachePredictions p = predict(*model.net, cache.transformed(shift.apply), batch_size, device, tta);
    evaluation.shifted.emplace_back(shift.name, compute_metrics(p.probabilities, p.labels, threshold));
  }
  evaluation.probabilities = std::move(predictions.probabilities);
  evaluation.labels = std::move(predictions.labels);
  return evaluation;
}

}  // namespace pneumoscan
