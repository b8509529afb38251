// Tests of src/eval/metrics: hand-computed cases and brute-force cross-checks.
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>
#include <set>

#include "core/errors.h"
#include "eval/metrics.h"
#include "test_support.h"

using namespace pneumoscan;

namespace {
// Eight images, four pneumonia; the 0.7 pair is a positive tied with a negative.
const std::vector<float> kProbs = {0.9f, 0.8f, 0.7f, 0.7f, 0.6f, 0.4f, 0.3f, 0.2f};
const std::vector<int> kLabels = {1, 1, 0, 1, 1, 0, 0, 0};

// O(n^2) Mann-Whitney AUC straight from the definition.
double pairwise_auc(const std::vector<float>& p, const std::vector<int>& y) {
  double wins = 0, pairs = 0;
  for (size_t i = 0; i < p.size(); ++i)
    for (size_t j = 0; j < p.size(); ++j)
      if (y[i] == 1 && y[j] == 0) {
        pairs += 1;
        wins += p[i] > p[j] ? 1.0 : (p[i] == p[j] ? 0.5 : 0.0);
      }
  return wins / pairs;
}

// Average precision straight from sklearn's definition: one step per distinct threshold.
double brute_force_ap(const std::vector<float>& p, const std::vector<int>& y) {
  std::set<float, std::greater<float>> thresholds(p.begin(), p.end());
  double positives = 0;
  for (int label : y) positives += label;
  double ap = 0, previous_recall = 0;
  for (float t : thresholds) {
    double tp = 0, fp = 0;
    for (size_t i = 0; i < p.size(); ++i)
      if (p[i] >= t) (y[i] == 1 ? tp : fp) += 1;
    const double recall = tp / positives;
    ap += (recall - previous_recall) * tp / (tp + fp);
    previous_recall = recall;
  }
  return ap;
}

double recall_at(const std::vector<float>& p, const std::vector<int>& y, double t) {
  double tp = 0, positives = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    positives += y[i];
    if (y[i] == 1 && p[i] >= t) tp += 1;
  }
  return tp / positives;
}
}  // namespace

TEST(Metrics, HandComputedConfusionAtThreshold) {
  // At 0.5: predicted positive 0.9 0.8 0.7 0.7 0.6 -> tp 4, fp 1; tn 3, fn 0.
  const BinaryMetrics m = compute_metrics(kProbs, kLabels, 0.5);
  EXPECT_EQ(m.n, 8);
  EXPECT_EQ(m.tp, 4);
  EXPECT_EQ(m.fp, 1);
  EXPECT_EQ(m.tn, 3);
  EXPECT_EQ(m.fn, 0);
  EXPECT_DOUBLE_EQ(m.accuracy, 7.0 / 8.0);
  EXPECT_DOUBLE_EQ(m.precision, 0.8);
  EXPECT_DOUBLE_EQ(m.recall, 1.0);
  EXPECT_DOUBLE_EQ(m.specificity, 0.75);
  EXPECT_DOUBLE_EQ(m.f1, 8.0 / 9.0);  // 2 * 0.8 * 1 / 1.8
  EXPECT_DOUBLE_EQ(m.threshold, 0.5);

  // At 0.7 (inclusive): tp 3 (0.9, 0.8, 0.7), fp 1 (the tied 0.7), fn 1 (0.6), tn 3.
  const BinaryMetrics at07 = compute_metrics(kProbs, kLabels, 0.7f);
  EXPECT_EQ(at07.tp, 3);
  EXPECT_EQ(at07.fp, 1);
  EXPECT_EQ(at07.fn, 1);
  EXPECT_EQ(at07.tn, 3);
  EXPECT_DOUBLE_EQ(at07.f1, 0.75);
}

TEST(Metrics, HandComputedRocAucWithTie) {
  // Pairs won out of 16: 0.9 -> 4, 0.8 -> 4, 0.7 -> 3 + tie 0.5, 0.6 -> 3 = 14.5.
  EXPECT_DOUBLE_EQ(roc_auc(kProbs, kLabels), 14.5 / 16.0);
  EXPECT_DOUBLE_EQ(compute_metrics(kProbs, kLabels, 0.5).roc_auc, 14.5 / 16.0);
}

TEST(Metrics, HandComputedAveragePrecision) {
  // Cuts: 0.9 (R .25, P 1), 0.8 (R .5, P 1), 0.7 group (R .75, P .75), 0.6 (R 1, P .8).
  const double expected = 0.25 * 1 + 0.25 * 1 + 0.25 * 0.75 + 0.25 * 0.8;
  EXPECT_DOUBLE_EQ(pr_auc(kProbs, kLabels), expected);
  EXPECT_DOUBLE_EQ(expected, 0.8875);
}

TEST(Metrics, PerfectAndInvertedClassifiers) {
  const std::vector<float> p = {0.1f, 0.2f, 0.3f, 0.8f, 0.9f};
  const std::vector<int> y = {0, 0, 0, 1, 1};
  const std::vector<int> inverted = {1, 1, 1, 0, 0};
  EXPECT_DOUBLE_EQ(roc_auc(p, y), 1.0);
  EXPECT_DOUBLE_EQ(pr_auc(p, y), 1.0);
  EXPECT_DOUBLE_EQ(roc_auc(p, inverted), 0.0);
  // Inverted: positives at 0.3, 0.2, 0.1 come after both negatives: P = 1/3, 2/4, 3/5.
  EXPECT_DOUBLE_EQ(pr_auc(p, inverted), (1.0 / 3 + 2.0 / 4 + 3.0 / 5) / 3);
  const BinaryMetrics m = compute_metrics(p, y, 0.5);
  EXPECT_DOUBLE_EQ(m.accuracy, 1.0);
  EXPECT_DOUBLE_EQ(m.f1, 1.0);
  const BinaryMetrics bad = compute_metrics(p, inverted, 0.5);
  EXPECT_DOUBLE_EQ(bad.accuracy, 0.0);
  EXPECT_DOUBLE_EQ(bad.f1, 0.0);
}

TEST(Metrics, AllTiedScoresGiveChanceAuc) {
  const std::vector<float> p(6, 0.5f);
  const std::vector<int> y = {1, 0, 1, 0, 0, 1};
  EXPECT_DOUBLE_EQ(roc_auc(p, y), 0.5);
  EXPECT_DOUBLE_EQ(pr_auc(p, y), 0.5);  // one cut: recall 1, precision 1/2
}

TEST(Metrics, OneClassGivesNaNAuc) {
  const std::vector<float> p = {0.2f, 0.7f, 0.9f};
  EXPECT_TRUE(std::isnan(roc_auc(p, {1, 1, 1})));
  EXPECT_TRUE(std::isnan(roc_auc(p, {0, 0, 0})));
  EXPECT_TRUE(std::isnan(pr_auc(p, {0, 0, 0})));
  EXPECT_DOUBLE_EQ(pr_auc(p, {1, 1, 1}), 1.0);
  // Zero denominators are 0, documented: no predicted positive -> precision 0.
  const BinaryMetrics m = compute_metrics(p, {0, 0, 0}, 0.95);
  EXPECT_EQ(m.tp + m.fp, 0);
  EXPECT_DOUBLE_EQ(m.precision, 0.0);
  EXPECT_DOUBLE_EQ(m.recall, 0.0);
  EXPECT_DOUBLE_EQ(m.specificity, 1.0);
  EXPECT_DOUBLE_EQ(m.f1, 0.0);
  EXPECT_TRUE(std::isnan(m.roc_auc));
}

TEST(Metrics, ThresholdForSensitivityIsHighestReachingTarget) {
  EXPECT_FLOAT_EQ(threshold_for_sensitivity(kProbs, kLabels, 0.0), 0.9f);
  EXPECT_FLOAT_EQ(threshold_for_sensitivity(kProbs, kLabels, 0.25), 0.9f);
  EXPECT_FLOAT_EQ(threshold_for_sensitivity(kProbs, kLabels, 0.5), 0.8f);
  EXPECT_FLOAT_EQ(threshold_for_sensitivity(kProbs, kLabels, 0.6), 0.7f);
  EXPECT_FLOAT_EQ(threshold_for_sensitivity(kProbs, kLabels, 0.75), 0.7f);
  EXPECT_FLOAT_EQ(threshold_for_sensitivity(kProbs, kLabels, 0.76), 0.6f);
  EXPECT_FLOAT_EQ(threshold_for_sensitivity(kProbs, kLabels, 1.0), 0.6f);
  EXPECT_TRUE(std::isnan(threshold_for_sensitivity(kProbs, {0, 0, 0, 0, 0, 0, 0, 0}, 0.9)));
  EXPECT_THROW(threshold_for_sensitivity(kProbs, kLabels, 1.5), UsageError);

  // Random data with ties: the result reaches the target and the next higher
  // distinct probability does not.
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> score(0, 40);
  std::bernoulli_distribution coin(0.4);
  std::vector<float> p(300);
  std::vector<int> y(300);
  for (size_t i = 0; i < p.size(); ++i) {
    p[i] = static_cast<float>(score(rng)) / 40.0f;
    y[i] = coin(rng) ? 1 : 0;
  }
  const std::set<float> distinct(p.begin(), p.end());
  for (double target : {0.5, 0.8, 0.9, 0.95, 0.99, 1.0}) {
    const double t = threshold_for_sensitivity(p, y, target);
    ASSERT_TRUE(distinct.count(static_cast<float>(t))) << t;
    EXPECT_GE(recall_at(p, y, t), target);
    const auto higher = distinct.upper_bound(static_cast<float>(t));
    if (higher != distinct.end()) EXPECT_LT(recall_at(p, y, *higher), target) << "target " << target;
    EXPECT_GE(compute_metrics(p, y, t).recall, target);
  }
}

TEST(Metrics, SortBasedAgreesWithBruteForceOnRandomTiedData) {
  std::mt19937 rng(123);
  for (int trial = 0; trial < 20; ++trial) {
    std::uniform_int_distribution<int> score(0, 10 + trial);
    std::bernoulli_distribution coin(0.3);
    std::vector<float> p(50 + trial * 7);
    std::vector<int> y(p.size());
    for (size_t i = 0; i < p.size(); ++i) {
      p[i] = static_cast<float>(score(rng)) / static_cast<float>(10 + trial);
      y[i] = coin(rng) ? 1 : 0;
    }
    y[0] = 1;
    y[1] = 0;
    EXPECT_NEAR(roc_auc(p, y), pairwise_auc(p, y), 1e-12);
    EXPECT_NEAR(pr_auc(p, y), brute_force_ap(p, y), 1e-12);
  }
}

TEST(Metrics, RejectsMismatchedOrInvalidInput) {
  EXPECT_THROW(compute_metrics({0.1f, 0.2f}, {1}, 0.5), UsageError);
  EXPECT_THROW(roc_auc({0.1f, 0.2f}, {1, 2}), UsageError);
  EXPECT_THROW(pr_auc({std::numeric_limits<float>::quiet_NaN(), 0.2f}, {1, 0}), UsageError);
}

TEST(Metrics, JsonHasExactlyTheListedKeysAndNullForNaN) {
  const nlohmann::json json = to_json(compute_metrics({0.2f, 0.7f}, {1, 1}, 0.5));
  std::set<std::string> keys;
  for (auto it = json.begin(); it != json.end(); ++it) keys.insert(it.key());
  const std::set<std::string> expected = {"n",  "accuracy", "precision", "recall",    "specificity",
                                          "f1", "roc_auc",  "pr_auc",    "threshold", "tp",
                                          "fp", "tn",       "fn"};
  EXPECT_EQ(keys, expected);
  EXPECT_TRUE(json["roc_auc"].is_null());
  EXPECT_DOUBLE_EQ(json["pr_auc"].get<double>(), 1.0);
  EXPECT_EQ(json["n"].get<int64_t>(), 2);
  EXPECT_EQ(json["tp"].get<int64_t>(), 1);
  EXPECT_EQ(json["fn"].get<int64_t>(), 1);
  EXPECT_DOUBLE_EQ(json["recall"].get<double>(), 0.5);
  EXPECT_EQ(json.dump().find("NaN"), std::string::npos);
}

TEST(Metrics, RocAndPrCurves) {
  const std::vector<CurvePoint> roc = roc_curve(kProbs, kLabels);
  // +inf, then the distinct probabilities 0.9 0.8 0.7 0.6 0.4 0.3 0.2.
  ASSERT_EQ(roc.size(), 8u);
  EXPECT_TRUE(std::isinf(roc.front().threshold));
  EXPECT_DOUBLE_EQ(roc.front().x, 0.0);
  EXPECT_DOUBLE_EQ(roc.front().y, 0.0);
  EXPECT_FLOAT_EQ(static_cast<float>(roc[3].threshold), 0.7f);
  EXPECT_DOUBLE_EQ(roc[3].x, 0.25);  // one negative of four
  EXPECT_DOUBLE_EQ(roc[3].y, 0.75);
  EXPECT_DOUBLE_EQ(roc.back().x, 1.0);
  EXPECT_DOUBLE_EQ(roc.back().y, 1.0);
  // Trapezoids under the curve equal the Mann-Whitney AUC.
  double area = 0;
  for (size_t i = 1; i < roc.size(); ++i) area += (roc[i].x - roc[i - 1].x) * (roc[i].y + roc[i - 1].y) / 2;
  EXPECT_DOUBLE_EQ(area, roc_auc(kProbs, kLabels));

  const std::vector<CurvePoint> pr = pr_curve(kProbs, kLabels);
  ASSERT_EQ(pr.size(), 8u);
  EXPECT_DOUBLE_EQ(pr.front().x, 0.0);
  EXPECT_DOUBLE_EQ(pr.front().y, 1.0);
  EXPECT_DOUBLE_EQ(pr[4].x, 1.0);  // threshold 0.6
  EXPECT_DOUBLE_EQ(pr[4].y, 0.8);
  EXPECT_DOUBLE_EQ(pr.back().y, 0.5);  // everything positive
  EXPECT_TRUE(roc_curve({0.1f, 0.2f}, {1, 1}).empty());
  EXPECT_TRUE(pr_curve({0.1f, 0.2f}, {0, 0}).empty());
}

TEST(Metrics, CalibrationBinsBrierAndEce) {
  const std::vector<float> p = {0.05f, 0.15f, 0.95f, 1.0f, 0.92f, 0.55f};
  const std::vector<int> y = {0, 0, 1, 1, 0, 1};
  const std::vector<CalibrationBin> bins = calibration_bins(p, y, 10);
  ASSERT_EQ(bins.size(), 10u);
  EXPECT_EQ(bins[0].count, 1);
  EXPECT_EQ(bins[1].count, 1);
  EXPECT_EQ(bins[5].count, 1);
  EXPECT_EQ(bins[9].count, 3);  // 0.95, 1.0 (closed last bin), 0.92
  EXPECT_EQ(bins[3].count, 0);
  EXPECT_TRUE(std::isnan(bins[3].mean_predicted));
  EXPECT_NEAR(bins[9].mean_predicted, (0.95 + 1.0 + 0.92) / 3, 1e-7);
  EXPECT_DOUBLE_EQ(bins[9].fraction_positive, 2.0 / 3.0);

  const double brier = (0.05 * 0.05 + 0.15 * 0.15 + 0.05 * 0.05 + 0 + 0.92 * 0.92 + 0.45 * 0.45) / 6;
  EXPECT_NEAR(brier_score(p, y), brier, 1e-7);
  const double ece = (1 * 0.05 + 1 * 0.15 + 1 * 0.45 + 3 * std::abs(2.0 / 3 - (0.95 + 1.0 + 0.92) / 3)) / 6;
  EXPECT_NEAR(expected_calibration_error(p, y, 10), ece, 1e-7);
  EXPECT_TRUE(std::isnan(brier_score({}, {})));
  EXPECT_THROW(calibration_bins(p, y, 0), UsageError);
  // A perfectly calibrated set: each bin's frequency equals its mean prediction.
  EXPECT_NEAR(expected_calibration_error({0.25f, 0.25f, 0.25f, 0.25f}, {1, 0, 0, 0}, 4), 0.0, 1e-12);
}
