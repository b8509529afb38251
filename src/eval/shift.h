#pragma once
// Acquisition-shift proxies: fixed, deterministic changes of a model-size
// 8-bit X-ray that another detector, exposure, processing pipeline or
// collimation would make. Evaluating on shifted copies of a validation set
// asks whether a model's operating point survives them; the threshold policy
// "worst-shift" (eval/calibration.h) keeps sensitivity on every one. None of
// them reproduces the official test split's shift (see docs/generalisation.md):
// they are probes, not a substitute for a second site.
#include <functional>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

namespace pneumoscan {

struct AcquisitionShift {
  std::string name;                              // e.g. "gamma-0.6"
  std::string description;                       // what it imitates
  std::function<cv::Mat(const cv::Mat&)> apply;  // CV_8U square -> CV_8U same size
};

// The fixed set, in a stable order.
const std::vector<AcquisitionShift>& acquisition_shifts();

// Throws UsageError listing the names when unknown.
const AcquisitionShift& find_shift(const std::string& name);

}  // namespace pneumoscan
