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
// patient's label is the majority label of their images; ties go to the larger
// label). Within each stratum the patient keys are sorted, shuffled with
// std::mt19937_64(seed), and the first round(val_fraction * patients) become
// "val". Deterministic for a seed and independent of the input order. Samples
// whose split is "test" keep it and take no part in the split. A sample with no
// patient key is its own patient. Output order = input order. Throws
// UsageError when val_fraction is outside [0, 1].
std::vector<Sample> split_by_patient(const std::vector<Sample>& samples, const SplitOptions& options);

// Patient keys that occur in more than one split (leakage), sorted; empty
// patient keys and unassigned ("") splits ignored.
std::vector<std::string> patients_in_several_splits(const std::vector<Sample>& samples);

}  // namespace pneumoscan
