#pragma once
// Evaluating a model file on a labelled data set at its stored threshold.
#include <optional>
#include <string>
#include <vector>

#include "core/parallel.h"
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
  std::vector<Sample> samples;  // those decoded (unreadable ones are in `failures`)
  std::vector<std::string> failures;
};

struct EvaluateOptions {
  int batch_size = 32;
  int threads = 0;                 // decoding threads, 0 = one per core
  double threshold_override = -1;  // used when in [0, 1]; else the model's stored threshold
  bool with_shifts = false;        // also every acquisition-shifted copy (eval/shift.h)
  // Each image's probabilities are the mean over it and its kTtaVariants
  // test-time variants (image/test_time_augmentation.h), shifted copies too:
  // five forward passes per image.
  bool test_time_augmentation = false;
};

// `progress` (optional) hears the decoding of the files, from worker threads (serialised).
Evaluation evaluate_model(LoadedModel& model, const std::vector<Sample>& samples,
                          const EvaluateOptions& options = {}, const ProgressCallback& progress = nullptr);

}  // namespace pneumoscan
