#pragma once
// After training: temperature scaling fitted on validation (Guo et al., 2017)
// and an operating threshold chosen by a stated policy, both stored in the
// model file so every front end uses them.
#include <torch/types.h>

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "data/sample.h"
#include "model_file/model_file.h"

namespace pneumoscan {

// Mean negative log-likelihood of `labels` under softmax(logits / T) (logits
// [N, K >= 2], class indices) or sigmoid(logits / T) (logits [N, 1], 0/1).
double negative_log_likelihood(const torch::Tensor& logits, const torch::Tensor& labels, double temperature);

// The temperature in [0.05, 20] minimising that NLL (golden-section search on
// log T; the NLL is convex in 1/T). UsageError on empty or mismatched input.
double fit_temperature(const torch::Tensor& logits, const torch::Tensor& labels);

// Temperature and a per-output bias fitted together (L-BFGS from the fitted
// temperature): logits / T + b, with b[0] = 0 for K >= 2 outputs (softmax is
// unchanged by a common shift). The bias undoes the prior shift that class
// weighting puts into P(pneumonia), which a temperature cannot.
struct OutputCalibration {
  double temperature = 1.0;
  std::vector<double> class_bias;  // one per output
};
OutputCalibration fit_output_calibration(const torch::Tensor& logits, const torch::Tensor& labels);

// Threshold policies:
//  "validation":  the highest threshold with sensitivity >= target on validation
//                 (fragile: a shift that lowers pneumonia scores loses sensitivity);
//  "pooled-shift": that threshold on validation and all its acquisition-shifted
//                 copies (eval/shift.h) pooled, so the target holds on the
//                 proxies taken together;
//  "worst-shift": the lowest of the per-set thresholds over validation and each
//                 shifted copy, so the target holds on every proxy (the widest
//                 margin, and the lowest specificity).
struct CalibrationOptions {
  bool fit_temperature = true;
  bool fit_bias = true;  // with the temperature: OutputCalibration
  std::string threshold_policy = "pooled-shift";
  double target_sensitivity = 0.95;
  int batch_size = 32;
  int threads = 0;
};

struct CalibrationResult {
  double temperature = 1.0;
  std::vector<double> class_bias;
  double nll_before = 0, nll_after = 0;
  double ece_before = 0, ece_after = 0;      // 15 bins, on P(pneumonia)
  double brier_before = 0, brier_after = 0;  // on P(pneumonia)
  double threshold = 0.5;
  std::string threshold_policy;
  double target_sensitivity = 0.95;
  std::vector<std::pair<std::string, double>> thresholds;  // per data set: "validation", then each shift
  int64_t images = 0;
};

nlohmann::json to_json(const CalibrationResult& result);

// Fits on `validation` (labelled; class indices from the model's class list)
// and updates `model` in place: metadata temperature, threshold, calibration
// record, and the network's temperature. The caller saves the model.
// Throws UsageError (bad policy, a class without examples) or InputError.
CalibrationResult calibrate_model(LoadedModel& model, const std::vector<Sample>& validation,
                                  const CalibrationOptions& options);

}  // namespace pneumoscan
