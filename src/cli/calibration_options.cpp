#include "cli/calibration_options.h"

#include <cstdio>

namespace pneumoscan::cli {

void print_calibration(const CalibrationResult& r) {
  std::printf("calibrated on %lld validation images\n", static_cast<long long>(r.images));
  std::printf("class bias");
  for (double b : r.class_bias) std::printf(" %.4f", b);
  std::printf("%s\n", r.class_bias.empty() ? " none" : "");
  std::printf("temperature %.4f: NLL %.4f -> %.4f  ECE(15) %.4f -> %.4f  Brier %.4f -> %.4f\n", r.temperature,
              r.nll_before, r.nll_after, r.ece_before, r.ece_after, r.brier_before, r.brier_after);
  std::printf("thresholds for sensitivity >= %.2f:", r.target_sensitivity);
  for (const auto& [name, value] : r.thresholds) std::printf(" %s %.4f", name.c_str(), value);
  std::printf("\nthreshold %.4f (policy %s)\n", r.threshold, r.threshold_policy.c_str());
}

std::vector<Sample> read_validation(const std::string& data, const std::string& split) {
  std::vector<Sample> samples = read_dataset(data);
  return split.empty() || split == "all" ? samples : select_split(samples, split);
}

void add_calibration_options(CLI::App* cmd, CalibrationOptions& options) {
  cmd->add_option(
         "--policy", options.threshold_policy,
         "Threshold policy: validation (sensitivity target on validation), pooled-shift (on validation "
         "and its acquisition-shifted copies pooled) or worst-shift (on each of them)")
      ->check(CLI::IsMember({"validation", "pooled-shift", "worst-shift"}))
      ->capture_default_str();
  cmd->add_option("--target-sensitivity", options.target_sensitivity, "Sensitivity the threshold must reach")
      ->check(CLI::Range(0.5, 1.0))
      ->capture_default_str();
  cmd->add_flag("!--no-temperature", options.fit_temperature, "Keep the temperature at 1 (threshold only)");
  cmd->add_flag("!--no-bias", options.fit_bias, "Fit the temperature alone, without the per-class bias");
}

}  // namespace pneumoscan::cli
