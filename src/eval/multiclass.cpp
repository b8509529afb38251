#include "eval/multiclass.h"

#include <nlohmann/json.hpp>

#include "core/errors.h"

namespace pneumoscan {
namespace {

double ratio(double a, double b) { return b > 0 ? a / b : 0.0; }

}  // namespace

MulticlassMetrics compute_multiclass_metrics(const std::vector<float>& class_probabilities,
                                             const std::vector<int>& labels,
                                             const std::vector<std::string>& class_names, double threshold) {
  const size_t k = class_names.size();
  if (k < 3) throw UsageError("multiclass metrics need at least three classes");
  if (class_probabilities.size() != labels.size() * k)
    throw UsageError("multiclass metrics: " + std::to_string(labels.size()) + " labels but " +
                     std::to_string(class_probabilities.size()) + " probabilities for " + std::to_string(k) +
                     " classes");
  MulticlassMetrics m;
  m.class_names = class_names;
  m.confusion.assign(k, std::vector<int64_t>(k, 0));
  m.n = static_cast<int64_t>(labels.size());
  int64_t type_correct = 0;
  for (size_t i = 0; i < labels.size(); ++i) {
    const int truth = labels[i];
    if (truth < 0 || static_cast<size_t>(truth) >= k)
      throw UsageError("multiclass metrics: label " + std::to_string(truth) + " outside the class list");
    const float* p = &class_probabilities[i * k];
    size_t best_type = 1;
    for (size_t c = 2; c < k; ++c)
      if (p[c] > p[best_type]) best_type = c;
    // In float, as pneumonia_probability computes it, so the binary report agrees to the last image.
    const bool positive = static_cast<float>(1.0f - p[0]) >= threshold;
    m.confusion[truth][positive ? best_type : 0]++;
    if (truth > 0) {
      ++m.type_n;
      if (static_cast<int>(best_type) == truth) ++type_correct;
    }
  }
  int64_t correct = 0;
  for (size_t c = 0; c < k; ++c) {
    int64_t row = 0, column = 0;
    for (size_t j = 0; j < k; ++j) {
      row += m.confusion[c][j];
      column += m.confusion[j][c];
    }
    correct += m.confusion[c][c];
    m.recall.push_back(ratio(m.confusion[c][c], row));
    m.precision.push_back(ratio(m.confusion[c][c], column));
    const double pr = m.precision.back(), re = m.recall.back();
    m.f1.push_back(pr + re > 0 ? 2 * pr * re / (pr + re) : 0.0);
    m.macro_f1 += m.f1.back() / k;
  }
  m.accuracy = ratio(correct, m.n);
  m.type_accuracy = ratio(type_correct, m.type_n);
  return m;
}

nlohmann::json to_json(const MulticlassMetrics& m) {
  return {{"n", m.n},
          {"class_names", m.class_names},
          {"confusion", m.confusion},
          {"recall", m.recall},
          {"precision", m.precision},
          {"f1", m.f1},
          {"macro_f1", m.macro_f1},
          {"accuracy", m.accuracy},
          {"type_accuracy", m.type_accuracy},
          {"type_n", m.type_n}};
}

}  // namespace pneumoscan
