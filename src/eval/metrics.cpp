#include "eval/metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <numeric>
#include <string>

#include "core/errors.h"

namespace pneumoscan {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

void validate(const std::vector<float>& probabilities, const std::vector<int>& labels) {
  if (probabilities.size() != labels.size())
    throw UsageError("metrics: " + std::to_string(probabilities.size()) + " probabilities but " +
                     std::to_string(labels.size()) + " labels");
  for (size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] != 0 && labels[i] != 1)
      throw UsageError("metrics: label " + std::to_string(labels[i]) + " at index " + std::to_string(i) +
                       " is not 0 or 1");
    if (std::isnan(probabilities[i]))
      throw UsageError("metrics: probability at index " + std::to_string(i) + " is NaN");
  }
}

double ratio(double numerator, double denominator) { return denominator > 0 ? numerator / denominator : 0.0; }

// Cumulative counts when predicting positive for every probability >= threshold,
// one entry per distinct probability, in descending threshold order.
struct Cut {
  double threshold;
  int64_t tp, fp;
};

struct Ranked {
  std::vector<Cut> cuts;
  int64_t positives = 0, negatives = 0;
};

Ranked rank(const std::vector<float>& probabilities, const std::vector<int>& labels) {
  validate(probabilities, labels);
  std::vector<size_t> order(probabilities.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return probabilities[a] > probabilities[b]; });
  Ranked ranked;
  int64_t tp = 0, fp = 0;
  for (size_t i = 0; i < order.size(); ++i) {
    if (labels[order[i]] == 1)
      ++tp;
    else
      ++fp;
    const bool last_of_group =
        i + 1 == order.size() || probabilities[order[i + 1]] != probabilities[order[i]];
    if (last_of_group) ranked.cuts.push_back({static_cast<double>(probabilities[order[i]]), tp, fp});
  }
  ranked.positives = tp;
  ranked.negatives = fp;
  return ranked;
}

}  // namespace

BinaryMetrics compute_metrics(const std::vector<float>& probabilities, const std::vector<int>& labels,
                              double threshold) {
  validate(probabilities, labels);
  BinaryMetrics m;
  m.n = static_cast<int64_t>(labels.size());
  m.threshold = threshold;
  for (size_t i = 0; i < labels.size(); ++i) {
    const bool predicted = static_cast<double>(probabilities[i]) >= threshold;
    if (labels[i] == 1)
      ++(predicted ? m.tp : m.fn);
    else
      ++(predicted ? m.fp : m.tn);
  }
  m.accuracy = ratio(static_cast<double>(m.tp + m.tn), static_cast<double>(m.n));
  m.precision = ratio(static_cast<double>(m.tp), static_cast<double>(m.tp + m.fp));
  m.recall = ratio(static_cast<double>(m.tp), static_cast<double>(m.tp + m.fn));
  m.specificity = ratio(static_cast<double>(m.tn), static_cast<double>(m.tn + m.fp));
  // Harmonic mean of precision and recall, written so that zero counts give 0.
  m.f1 = ratio(2.0 * static_cast<double>(m.tp), static_cast<double>(2 * m.tp + m.fp + m.fn));
  m.roc_auc = roc_auc(probabilities, labels);
  m.pr_auc = pr_auc(probabilities, labels);
  return m;
}

double roc_auc(const std::vector<float>& probabilities, const std::vector<int>& labels) {
  const Ranked ranked = rank(probabilities, labels);
  if (ranked.positives == 0 || ranked.negatives == 0) return kNaN;
  // Mann-Whitney: for each group of tied scores (descending), every negative in
  // it is beaten by the positives above the group, and ties with the group's
  // positives count half.
  double wins = 0;
  int64_t tp_before = 0, fp_before = 0;
  for (const Cut& cut : ranked.cuts) {
    const int64_t group_tp = cut.tp - tp_before, group_fp = cut.fp - fp_before;
    wins += static_cast<double>(group_fp) *
            (static_cast<double>(tp_before) + 0.5 * static_cast<double>(group_tp));
    tp_before = cut.tp;
    fp_before = cut.fp;
  }
  return wins / (static_cast<double>(ranked.positives) * static_cast<double>(ranked.negatives));
}

double pr_auc(const std::vector<float>& probabilities, const std::vector<int>& labels) {
  const Ranked ranked = rank(probabilities, labels);
  if (ranked.positives == 0) return kNaN;
  double ap = 0, previous_recall = 0;
  for (const Cut& cut : ranked.cuts) {
    const double recall = static_cast<double>(cut.tp) / static_cast<double>(ranked.positives);
    const double precision = static_cast<double>(cut.tp) / static_cast<double>(cut.tp + cut.fp);
    ap += (recall - previous_recall) * precision;
    previous_recall = recall;
  }
  return ap;
}

double threshold_for_sensitivity(const std::vector<float>& probabilities, const std::vector<int>& labels,
                                 double target_sensitivity) {
  if (!(target_sensitivity >= 0.0 && target_sensitivity <= 1.0))
    throw UsageError("target sensitivity must be within [0, 1], got " + std::to_string(target_sensitivity));
  const Ranked ranked = rank(probabilities, labels);
  if (ranked.positives == 0) return kNaN;
  // Recall only grows as the threshold falls: the first cut that reaches the
  // target is the highest threshold that does. Compare counts, not rounded
  // ratios: tp >= target * positives.
  const double needed = target_sensitivity * static_cast<double>(ranked.positives);
  for (const Cut& cut : ranked.cuts)
    if (static_cast<double>(cut.tp) >= needed - 1e-9) return cut.threshold;
  return ranked.cuts.back().threshold;  // unreachable: the last cut has recall 1
}

nlohmann::json to_json(const BinaryMetrics& m) {
  const auto number = [](double value) -> nlohmann::json {
    if (std::isnan(value)) return nullptr;
    return value;
  };
  nlohmann::json json = nlohmann::json::object();
  json["n"] = m.n;
  json["accuracy"] = number(m.accuracy);
  json["precision"] = number(m.precision);
  json["recall"] = number(m.recall);
  json["specificity"] = number(m.specificity);
  json["f1"] = number(m.f1);
  json["roc_auc"] = number(m.roc_auc);
  json["pr_auc"] = number(m.pr_auc);
  json["threshold"] = number(m.threshold);
  json["tp"] = m.tp;
  json["fp"] = m.fp;
  json["tn"] = m.tn;
  json["fn"] = m.fn;
  return json;
}

std::vector<CurvePoint> roc_curve(const std::vector<float>& probabilities, const std::vector<int>& labels) {
  const Ranked ranked = rank(probabilities, labels);
  std::vector<CurvePoint> curve;
  if (ranked.positives == 0 || ranked.negatives == 0) return curve;
  curve.reserve(ranked.cuts.size() + 1);
  curve.push_back({std::numeric_limits<double>::infinity(), 0.0, 0.0});
  for (const Cut& cut : ranked.cuts)
    curve.push_back({cut.threshold, static_cast<double>(cut.fp) / static_cast<double>(ranked.negatives),
                     static_cast<double>(cut.tp) / static_cast<double>(ranked.positives)});
  return curve;
}

std::vector<CurvePoint> pr_curve(const std::vector<float>& probabilities, const std::vector<int>& labels) {
  const Ranked ranked = rank(probabilities, labels);
  std::vector<CurvePoint> curve;
  if (ranked.positives == 0) return curve;
  curve.reserve(ranked.cuts.size() + 1);
  curve.push_back({std::numeric_limits<double>::infinity(), 0.0, 1.0});
  for (const Cut& cut : ranked.cuts)
    curve.push_back({cut.threshold, static_cast<double>(cut.tp) / static_cast<double>(ranked.positives),
                     static_cast<double>(cut.tp) / static_cast<double>(cut.tp + cut.fp)});
  return curve;
}

std::vector<CalibrationBin> calibration_bins(const std::vector<float>& probabilities,
                                             const std::vector<int>& labels, int bins) {
  validate(probabilities, labels);
  if (bins < 1) throw UsageError("calibration needs at least one bin, got " + std::to_string(bins));
  std::vector<double> sum_predicted(static_cast<size_t>(bins), 0.0);
  std::vector<int64_t> positives(static_cast<size_t>(bins), 0), counts(static_cast<size_t>(bins), 0);
  for (size_t i = 0; i < labels.size(); ++i) {
    const double p = std::clamp(static_cast<double>(probabilities[i]), 0.0, 1.0);
    const auto bin = static_cast<size_t>(std::min(static_cast<int>(p * bins), bins - 1));
    sum_predicted[bin] += p;
    positives[bin] += labels[i];
    ++counts[bin];
  }
  std::vector<CalibrationBin> result(static_cast<size_t>(bins));
  for (size_t b = 0; b < result.size(); ++b) {
    const double count = static_cast<double>(counts[b]);
    result[b].count = counts[b];
    result[b].mean_predicted = counts[b] > 0 ? sum_predicted[b] / count : kNaN;
    result[b].fraction_positive = counts[b] > 0 ? static_cast<double>(positives[b]) / count : kNaN;
  }
  return result;
}

double brier_score(const std::vector<float>& probabilities, const std::vector<int>& labels) {
  validate(probabilities, labels);
  if (labels.empty()) return kNaN;
  double sum = 0;
  for (size_t i = 0; i < labels.size(); ++i) {
    const double error = static_cast<double>(probabilities[i]) - labels[i];
    sum += error * error;
  }
  return sum / static_cast<double>(labels.size());
}

double expected_calibration_error(const std::vector<float>& probabilities, const std::vector<int>& labels,
                                  int bins) {
  const std::vector<CalibrationBin> table = calibration_bins(probabilities, labels, bins);
  if (labels.empty()) return kNaN;
  double ece = 0;
  for (const CalibrationBin& bin : table)
    if (bin.count > 0)
      ece += static_cast<double>(bin.count) / static_cast<double>(labels.size()) *
             std::abs(bin.fraction_positive - bin.mean_predicted);
  return ece;
}

}  // namespace pneumoscan
