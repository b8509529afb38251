#pragma once
// Binary classification metrics as clinicians read them: sensitivity first.
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <vector>

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
// Every function here throws UsageError when the two vectors differ in length,
// a label is not 0 or 1, or a probability is NaN.
// A ratio whose denominator is zero is 0 (as sklearn's zero_division=0):
// precision without predicted positives, recall without positives,
// specificity without negatives, accuracy and F1 of empty data.
BinaryMetrics compute_metrics(const std::vector<float>& probabilities, const std::vector<int>& labels,
                              double threshold);

// Area under the ROC curve (ties count half); NaN when a class is absent.
double roc_auc(const std::vector<float>& probabilities, const std::vector<int>& labels);

// Area under the precision-recall curve as average precision; NaN without positives.
double pr_auc(const std::vector<float>& probabilities, const std::vector<int>& labels);

// Average precision follows sklearn: sum over distinct thresholds (descending,
// tied scores grouped) of (R_k - R_{k-1}) * P_k.

// The highest threshold whose sensitivity on these data is >= target_sensitivity
// (so specificity is as high as that sensitivity allows). The threshold is one of
// the distinct probabilities, so `probability >= threshold` reproduces it.
// NaN without positives; UsageError when target is outside [0, 1].
double threshold_for_sensitivity(const std::vector<float>& probabilities, const std::vector<int>& labels,
                                 double target_sensitivity);

// Keys exactly: n, accuracy, precision, recall, specificity, f1, roc_auc,
// pr_auc, threshold, tp, fp, tn, fn. NaN is written as null.
nlohmann::json to_json(const BinaryMetrics& metrics);

// --- curves and calibration, for plots --------------------------------------

struct CurvePoint {
  double threshold, x, y;
};

// ROC curve: x = false positive rate, y = true positive rate at `prob >= threshold`.
// First point (threshold +inf, 0, 0), then one point per distinct probability,
// descending threshold, ending at (1, 1). Empty when a class is absent.
std::vector<CurvePoint> roc_curve(const std::vector<float>& probabilities, const std::vector<int>& labels);

// Precision-recall curve: x = recall, y = precision at `prob >= threshold`.
// First point (threshold +inf, recall 0, precision 1), then one point per
// distinct probability, descending threshold. Empty without positives.
std::vector<CurvePoint> pr_curve(const std::vector<float>& probabilities, const std::vector<int>& labels);

struct CalibrationBin {
  double mean_predicted, fraction_positive;
  int64_t count;
};

// Reliability diagram: `bins` equal-width bins over [0, 1] (bin i holds
// probabilities in [i/bins, (i+1)/bins), the last one also 1; values outside
// [0, 1] are clamped). All bins are returned; an empty bin has count 0 and NaN
// means. UsageError when bins < 1.
std::vector<CalibrationBin> calibration_bins(const std::vector<float>& probabilities,
                                             const std::vector<int>& labels, int bins = 10);

// Mean of (probability - label)^2; NaN for empty data.
double brier_score(const std::vector<float>& probabilities, const std::vector<int>& labels);

// Sum over calibration bins of count/n * |fraction_positive - mean_predicted|; NaN for empty data.
double expected_calibration_error(const std::vector<float>& probabilities, const std::vector<int>& labels,
                                  int bins = 10);

}  // namespace pneumoscan
