#include "eval/calibration.h"

#include <torch/nn/functional/loss.h>
#include <torch/torch.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "core/errors.h"
#include "data/loader.h"
#include "eval/metrics.h"
#include "eval/predict_cache.h"
#include "eval/shift.h"
#include "models/output.h"

namespace pneumoscan {
namespace F = torch::nn::functional;

namespace {

// NLL of logits / exp(log_t) + bias (bias: 1 value for one output, K - 1 for K >= 2, class 0 fixed at 0).
torch::Tensor calibrated_nll(const torch::Tensor& logits, const torch::Tensor& labels,
                             const torch::Tensor& log_t, const torch::Tensor& bias) {
  torch::Tensor scaled = logits / log_t.exp();
  if (logits.size(1) == 1)
    return F::binary_cross_entropy_with_logits((scaled + bias).squeeze(1), labels.to(torch::kFloat64));
  return F::cross_entropy(scaled + torch::cat({torch::zeros({1}, bias.options()), bias}),
                          labels.to(torch::kInt64));
}

}  // namespace

double negative_log_likelihood(const torch::Tensor& logits, const torch::Tensor& labels, double temperature) {
  if (logits.dim() != 2 || labels.dim() != 1 || logits.size(0) != labels.size(0) || logits.size(0) == 0)
    throw UsageError("calibration: logits and labels do not fit");
  const int64_t bias_size = logits.size(1) == 1 ? 1 : logits.size(1) - 1;
  return calibrated_nll(logits.to(torch::kFloat64), labels,
                        torch::tensor(std::log(temperature), torch::kFloat64),
                        torch::zeros({bias_size}, torch::kFloat64))
      .item<double>();
}

double fit_temperature(const torch::Tensor& logits, const torch::Tensor& labels) {
  double lo = std::log(0.05), hi = std::log(20.0);
  const double golden = (std::sqrt(5.0) - 1) / 2;
  auto nll = [&](double log_t) { return negative_log_likelihood(logits, labels, std::exp(log_t)); };
  double a = hi - golden * (hi - lo), b = lo + golden * (hi - lo);
  double fa = nll(a), fb = nll(b);
  for (int i = 0; i < 60; ++i) {
    if (fa < fb) {
      hi = b, b = a, fb = fa;
      a = hi - golden * (hi - lo), fa = nll(a);
    } else {
      lo = a, a = b, fa = fb;
      b = lo + golden * (hi - lo), fb = nll(b);
    }
  }
  return std::exp((lo + hi) / 2);
}

OutputCalibration fit_output_calibration(const torch::Tensor& logits_in, const torch::Tensor& labels) {
  OutputCalibration result;
  result.temperature = fit_temperature(logits_in, labels);
  const torch::Tensor logits = logits_in.to(torch::kFloat64).detach();
  const int64_t outputs = logits.size(1);
  torch::Tensor log_t = torch::tensor(std::log(result.temperature), torch::kFloat64).requires_grad_(true);
  torch::Tensor bias = torch::zeros({outputs == 1 ? 1 : outputs - 1}, torch::kFloat64).requires_grad_(true);
  torch::optim::LBFGS optimizer({log_t, bias},
                                torch::optim::LBFGSOptions(0.5).max_iter(200).line_search_fn("strong_wolfe"));
  optimizer.step([&] {
    optimizer.zero_grad();
    torch::Tensor loss = calibrated_nll(logits, labels, log_t, bias);
    loss.backward();
    return loss;
  });
  const double fitted = calibrated_nll(logits, labels, log_t, bias).item<double>();
  // Keep the temperature alone unless the bias really lowers the NLL (and stays sane).
  if (!(fitted < negative_log_likelihood(logits, labels, result.temperature) - 1e-6) ||
      !(bias.abs().max().item<double>() < 20))
    return result;
  result.temperature = std::exp(log_t.item<double>());
  if (outputs > 1) result.class_bias.push_back(0.0);
  for (int64_t i = 0; i < bias.size(0); ++i) result.class_bias.push_back(bias[i].item<double>());
  return result;
}

nlohmann::json to_json(const CalibrationResult& r) {
  nlohmann::json thresholds = nlohmann::json::object();
  for (const auto& [name, value] : r.thresholds)
    thresholds[name] = std::isfinite(value) ? nlohmann::json(value) : nlohmann::json(nullptr);
  return {{"temperature", r.temperature},
          {"class_bias", r.class_bias},
          {"nll_before", r.nll_before},
          {"nll_after", r.nll_after},
          {"ece15_before", r.ece_before},
          {"ece15_after", r.ece_after},
          {"brier_before", r.brier_before},
          {"brier_after", r.brier_after},
          {"threshold", r.threshold},
          {"threshold_policy", r.threshold_policy},
          {"target_sensitivity", r.target_sensitivity},
          {"thresholds", thresholds},
          {"images", r.images}};
}

CalibrationResult calibrate_model(LoadedModel& model, const std::vector<Sample>& validation,
                                  const CalibrationOptions& options) {
  const std::string& policy = options.threshold_policy;
  if (policy != "validation" && policy != "worst-shift" && policy != "pooled-shift")
    throw UsageError("unknown threshold policy '" + policy + "' (validation, pooled-shift, worst-shift)");
  const auto& names = model.metadata.class_names;
  std::vector<Sample> mapped;
  for (Sample s : validation) {
    s.label = class_index(s, names);
    if (s.label >= 0) mapped.push_back(std::move(s));
  }
  if (mapped.empty()) throw UsageError("no validation images with a class of this model");
  ClassifierImpl& net = *model.net;
  const c10::Device device = net.parameters().front().device();
  to_channels_last(net);
  const ImageCache cache(mapped, model.metadata.preprocess, options.threads);
  if (cache.size() == 0) throw UsageError("none of the validation images could be decoded");

  CalibrationResult result;
  result.images = static_cast<int64_t>(cache.size());
  result.threshold_policy = options.threshold_policy;
  result.target_sensitivity = options.target_sensitivity;
  net.set_temperature(1.0);
  net.set_class_bias({});
  const CachePredictions raw = predict_cache(net, cache, options.batch_size, std::nullopt, device);
  const int64_t n = static_cast<int64_t>(cache.size());
  const torch::Tensor logits =
      torch::from_blob(const_cast<float*>(raw.logits.data()), {n, raw.logit_width}, torch::kFloat32).clone();
  torch::Tensor labels =
      torch::tensor(std::vector<int64_t>(raw.class_labels.begin(), raw.class_labels.end()));
  if (raw.logit_width == 1) labels = labels.gt(0).to(torch::kInt64);
  result.nll_before = negative_log_likelihood(logits, labels, 1.0);
  result.ece_before = expected_calibration_error(raw.probabilities, raw.labels, 15);
  result.brier_before = brier_score(raw.probabilities, raw.labels);
  if (options.fit_temperature && options.fit_bias) {
    const OutputCalibration fitted = fit_output_calibration(logits, labels);
    result.temperature = fitted.temperature;
    result.class_bias = fitted.class_bias;
  } else if (options.fit_temperature) {
    result.temperature = fit_temperature(logits, labels);
  }
  net.set_temperature(result.temperature);
  net.set_class_bias(result.class_bias);

  // The calibrated outputs from the raw ones, as the network now computes them: no second pass.
  const torch::Tensor after = apply_output_calibration(logits, result.temperature, result.class_bias);
  result.nll_after = negative_log_likelihood(after, labels, 1.0);
  const torch::Tensor p_after = pneumonia_probability(after).contiguous();
  const std::vector<float> calibrated(p_after.data_ptr<float>(), p_after.data_ptr<float>() + p_after.numel());
  result.ece_after = expected_calibration_error(calibrated, raw.labels, 15);
  result.brier_after = brier_score(calibrated, raw.labels);
  result.threshold = threshold_for_sensitivity(calibrated, raw.labels, options.target_sensitivity);
  result.thresholds.emplace_back("validation", result.threshold);
  if (policy != "validation") {
    std::vector<float> pooled = calibrated;
    std::vector<int> pooled_labels = raw.labels;
    double worst = result.threshold;
    for (const AcquisitionShift& shift : acquisition_shifts()) {
      const ImageCache shifted = cache.transformed(shift.apply);
      const CachePredictions p = predict_cache(net, shifted, options.batch_size, std::nullopt, device);
      const double t = threshold_for_sensitivity(p.probabilities, p.labels, options.target_sensitivity);
      result.thresholds.emplace_back(shift.name, t);
      if (std::isfinite(t)) worst = std::min(worst, t);
      pooled.insert(pooled.end(), p.probabilities.begin(), p.probabilities.end());
      pooled_labels.insert(pooled_labels.end(), p.labels.begin(), p.labels.end());
    }
    const double pooled_threshold =
        threshold_for_sensitivity(pooled, pooled_labels, options.target_sensitivity);
    result.thresholds.emplace_back("pooled", pooled_threshold);
    result.threshold = policy == "worst-shift" ? worst : pooled_threshold;
  }
  if (!std::isfinite(result.threshold)) throw UsageError("validation data have no pneumonia images");
  model.metadata.temperature = result.temperature;
  model.metadata.class_bias = result.class_bias;
  model.metadata.threshold = result.threshold;
  model.metadata.calibration = to_json(result);
  return result;
}

}  // namespace pneumoscan
