#pragma once
// Flags and printing shared by `calibrate` and `ensemble`.
#include <CLI/CLI.hpp>

#include "eval/calibration.h"

namespace pneumoscan::cli {

void add_calibration_options(CLI::App* cmd, CalibrationOptions& options);
void print_calibration(const CalibrationResult& result);
// The rows of `data` (folder or manifest) in `split` ("all" or "" = every row).
std::vector<Sample> read_validation(const std::string& data, const std::string& split);

}  // namespace pneumoscan::cli
