#pragma once
// Metrics of a model with a finer class list (NORMAL, BACTERIAL, VIRAL): the
// pneumonia type on top of the binary decision. The predicted class follows
// the binary decision first (NORMAL when P(pneumonia) < threshold), then the
// most probable pneumonia class, so the K x K matrix agrees with the binary
// report at the same threshold.
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

namespace pneumoscan {

struct MulticlassMetrics {
  std::vector<std::string> class_names;
  std::vector<std::vector<int64_t>> confusion;  // [true class][predicted class]
  std::vector<double> recall;                   // per class; 0 for a class without examples
  std::vector<double> precision;                // per class; 0 for a class never predicted
  std::vector<double> f1;
  double macro_f1 = 0;
  double accuracy = 0;
  // Among true pneumonias: the most probable pneumonia class is the true type
  // (whatever the binary decision), as Kermany et al. report bacterial vs viral.
  double type_accuracy = 0;
  int64_t type_n = 0;
  int64_t n = 0;
};

// `class_probabilities` is [n, K] row-major with K = class_names.size() >= 3,
// `labels` class indices in [0, K) (samples of unknown class must be left out
// by the caller). Throws UsageError on sizes that do not fit.
MulticlassMetrics compute_multiclass_metrics(const std::vector<float>& class_probabilities,
                                             const std::vector<int>& labels,
                                             const std::vector<std::string>& class_names, double threshold);

// Keys: n, class_names, confusion, recall, precision, f1, macro_f1, accuracy, type_accuracy, type_n.
nlohmann::json to_json(const MulticlassMetrics& metrics);

}  // namespace pneumoscan
