#pragma once
// Exploratory statistics of a labelled data set: class balance per split,
// images per patient, image sizes, intensity by class, DICOM demographics.
#include <array>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "data/sample.h"

namespace pneumoscan {

struct Summary {  // of a list of numbers; all 0 when count == 0
  size_t count = 0;
  double min = 0, median = 0, max = 0;
};
Summary summarize(std::vector<double> values);

struct SplitCounts {
  std::array<size_t, 2> per_class{};  // [kNormal], [kPneumonia]
  size_t unlabelled = 0;
  size_t total() const { return per_class[0] + per_class[1] + unlabelled; }
  // pneumonia / normal; nullopt when there is no normal image.
  std::optional<double> imbalance() const;
};

struct IntensityStats {  // over the per-image mean intensities ([0,1] units)
  size_t images = 0;
  double mean_of_means = 0;
  double std_of_means = 0;  // population standard deviation
};

struct EdaReport {
  size_t total = 0;
  size_t unreadable = 0;                      // files that could not be decoded (left out of image stats)
  std::map<std::string, SplitCounts> splits;  // key: split name, "" when unassigned
  SplitCounts overall;
  size_t patients = 0;  // distinct patient keys ("" counts each image as its own patient)
  Summary images_per_patient;
  Summary width, height;
  size_t distinct_sizes = 0;
  std::map<std::string, size_t> formats;      // "jpeg", "png", "dicom", ...
  std::array<IntensityStats, 2> intensity{};  // by class
  IntensityStats intensity_all;
  // DICOM inputs only.
  size_t dicom_files = 0;
  std::map<std::string, size_t> sex;  // "M", "F", "O", "unknown"
  Summary age_years;                  // over DICOM files with PatientAge
};

// Decodes every file (threads: 0 = one per core). `progress(done, total)`,
// when set, is called after each file from worker threads (serialised).
EdaReport run_eda(const std::vector<Sample>& samples, int threads = 0,
                  const std::function<void(size_t, size_t)>& progress = {});

nlohmann::json to_json(const EdaReport& report);

// Aligned plain-text tables.
std::string format_table(const EdaReport& report);

}  // namespace pneumoscan
