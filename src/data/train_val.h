#pragma once
// Choosing training and validation images for `train`: from a manifest's
// split column, from a separate validation set, or carved from the training
// images by patient. Never lets a patient sit on both sides.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data/sample.h"

namespace pneumoscan {

struct TrainValSplit {
  std::vector<Sample> train;
  std::vector<Sample> val;
  std::string how;  // one line saying where the validation images came from
  size_t excluded_by_qc = 0;
};

// What `train` and `compare` train and validate on.
struct TrainValOptions {
  std::string data;        // folder or manifest
  std::string validation;  // "" or folder/manifest
  double val_fraction = 0.15;
  std::string exclude_qc;  // "" or a qc JSON whose flagged images are left out
  int64_t limit =
      0;  // > 0: a stratified subset of this many training images (and the same share of validation)
  uint64_t seed = 42;
};

// resolve_train_val, then the QC exclusions (how many: excluded_by_qc), then the limit.
TrainValSplit prepare_train_val(const TrainValOptions& options);

// The data summary stored in a model file: source, validation, excluded_by_qc (and limit when set).
nlohmann::json data_summary(const TrainValOptions& options, const TrainValSplit& split);

// data: folder (standard layout) or manifest. validation: "" or folder/manifest.
// Without `validation`, a manifest's "val" rows are used; otherwise validation
// is carved from the training images by patient (stratified, `val_fraction`, `seed`).
// The official test split is never used. Throws InputError on patient leakage.
TrainValSplit resolve_train_val(const std::string& data, const std::string& validation, double val_fraction,
                                uint64_t seed);

// A label-stratified random subset of at most `count` samples (all when count <= 0).
std::vector<Sample> stratified_subset(const std::vector<Sample>& samples, int64_t count, uint64_t seed);

// Drops samples whose path is in `excluded`.
std::vector<Sample> without_paths(const std::vector<Sample>& samples,
                                  const std::vector<std::string>& excluded);

}  // namespace pneumoscan
