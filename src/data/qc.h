#pragma once
// Dataset quality control: decode every file and flag what should not be
// trained on (unreadable, blank, too small, duplicate) or should be looked at
// (blurry, patients shared between splits).
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data/sample.h"

namespace pneumoscan {

// Default thresholds, calibrated on ../shared/data/chest_xray (5,232 images,
// 224x224) and chest_xray_fullres (200 images, 440-2,534 px min side); see qc.cpp.
inline constexpr double kDefaultBlankStddev = 0.02;   // intensity stddev in [0,1] units (~5 gray levels)
inline constexpr int kDefaultMinSide = 64;            // px, of the original image
inline constexpr double kDefaultBlurThreshold = 5.0;  // Laplacian variance at 256 px wide, 8-bit scale

struct QcOptions {
  double blank_stddev = kDefaultBlankStddev;                // stddev below this -> blank / near-constant
  int min_side = kDefaultMinSide;                           // min(width, height) below this -> too small
  double blur_threshold = kDefaultBlurThreshold;            // Laplacian variance below this -> blurry
  bool exclude_blurry = false;                              // also exclude blurry images from training
  int threads = 0;                                          // decode threads; 0 = one per core
  std::function<void(size_t done, size_t total)> progress;  // optional, serialised
};

struct QcIssue {
  std::string path;
  std::string detail;
};

struct DuplicateGroup {
  uint64_t pixel_hash = 0;
  std::vector<std::string> paths;   // in input order; the first one is kept
  std::vector<int> labels;          // parallel to paths
  std::vector<std::string> splits;  // parallel to paths
  bool conflicting_labels() const;
  bool across_splits() const;
};

struct CrossSplitPatient {
  std::string patient;
  std::vector<std::string> splits;  // sorted, distinct
  std::vector<std::string> paths;
};

struct QcReport {
  QcOptions options;  // thresholds used (progress callback not serialised)
  size_t total = 0;
  size_t readable = 0;
  std::vector<QcIssue> unreadable;         // detail: the decoder's problem
  std::vector<QcIssue> blank;              // detail: stddev
  std::vector<QcIssue> too_small;          // detail: size
  std::vector<QcIssue> blurry;             // detail: Laplacian variance
  std::vector<DuplicateGroup> duplicates;  // groups of >= 2 files with identical pixels
  size_t duplicate_files = 0;              // files beyond the first of each group
  std::vector<CrossSplitPatient> cross_split_patients;
};

QcReport run_qc(const std::vector<Sample>& samples, const QcOptions& options = {});

// Paths to leave out of training: unreadable, blank, too small, all but the first
// file of each duplicate group, and blurry when `exclude_blurry`. Sorted, distinct.
std::vector<std::string> qc_exclusions(const QcReport& report, bool exclude_blurry);
// Same with report.options.exclude_blurry.
std::vector<std::string> qc_exclusions(const QcReport& report);

// The whole report; its "exclude" array is qc_exclusions(report).
nlohmann::json to_json(const QcReport& report);

// Readable summary: counts per category and up to `examples` paths each.
std::string format_summary(const QcReport& report, size_t examples = 5);

// Reads the "exclude" array of a QC JSON written by to_json. Throws InputError
// naming the file when it cannot be read or is malformed.
std::vector<std::string> read_qc_exclusions(const std::string& qc_json_path);

}  // namespace pneumoscan
