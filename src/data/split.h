#pragma once
// Patient-grouped, label-stratified train/validation split.
#include <cstdint>
#include <string>
#include <vector>

#include "data/sample.h"

namespace pneumoscan {

struct SplitOptions {
  double val_fraction = 0.15;  // of patients within each label stratum
  uint64_t seed = 42;
};

// Returns the samples with split set to "train" or "val". All images of a
// patient go to the same split; patients are stratified by their label (a
// patient's label is the majority label of their images). Deterministic for a seed.
std::vector<Sample> split_by_patient(const std::vector<Sample>& samples, const SplitOptions& options);

// Patient keys that occur in more than one split (leakage); empty patient keys ignored.
std::vector<std::string> patients_in_several_splits(const std::vector<Sample>& samples);

}  // namespace pneumoscan
