#pragma once
// Binary classification metrics as clinicians read them: sensitivity first.
#include <cstdint>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace pneumoscan {

struct BinaryMetrics {
  int64_t n = 0;
  double accuracy = 0, precision = 0, recall = 0, specificity = 0, f1 = 0;
  double roc_auc = 0, pr_auc = 0;
  double threshold = 0.5;
  int64_t tp = 0, fp = 0, tn = 0, fn = 0;
};

// `probabilities[i]` is P(pneumonia) for an image whose true label is
// `labels[i]` (1 = pneumonia). Positive when probability >= threshold.
BinaryMetrics compute_metrics(const std::vector<float>& probabilities, const std::vector<int>& labels,
                              double threshold);

// Area under the ROC curve (ties count half); NaN when a class is absent.
double roc_auc(const std::vector<float>& probabilities, const std::vector<int>& labels);

// Area under the precision-recall curve as average precision; NaN without positives.
double pr_auc(const std::vector<float>& probabilities, const std::vector<int>& labels);

// The highest threshold whose sensitivity on these data is >= target_sensitivity
// (so specificity is as high as that sensitivity allows).
double threshold_for_sensitivity(const std::vector<float>& probabilities, const std::vector<int>& labels,
                                 double target_sensitivity);

// Keys exactly: n, accuracy, precision, recall, specificity, f1, roc_auc,
// pr_auc, threshold, tp, fp, tn, fn.
nlohmann::json to_json(const BinaryMetrics& metrics);

}  // namespace pneumoscan
