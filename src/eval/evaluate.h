#pragma once
// Evaluating a model file on a labelled data set at its stored threshold.
#include <optional>
#include <string>
#include <vector>

#include "data/sample.h"
#include "eval/metrics.h"
#include "eval/multiclass.h"
#include "model_file/model_file.h"

namespace pneumoscan {

struct Evaluation {
  BinaryMetrics metrics;
  std::vector<float> probabilities;  // per evaluated sample
  std::vector<int> labels;
  // Models with pneumonia types: the K x K report over the samples whose type
  // is known (Kermany names or manifest labels), at the same threshold.
  std::optional<MulticlassMetrics> classes;
  // With `with_shifts`: the binary report on each acquisition-shifted copy
  // (eval/shift.h) at the same threshold.
  std::vector<std::pair<std::string, BinaryMetrics>> shifted;
  std::vector<Sample> samples;       // those decoded (unreadable ones are in `failures`)
  std::vector<std::string> failures;
};

// Threshold: the model's stored one unless `threshold_override` is in [0, 1].
Evaluation evaluate_model(LoadedModel& model, const std::vector<Sample>& samples, int batch_size = 32,
                          int threads = 0, double threshold_override = -1.0, bool with_shifts = false);

}  // namespace pneumoscan
