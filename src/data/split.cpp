#include "data/split.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <set>
#include <utility>

#include "core/errors.h"

namespace pneumoscan {

namespace {
// A sample without a patient key is its own patient, keyed by its path; the
// flag keeps such keys apart from real patient keys.
using PatientKey = std::pair<bool, std::string>;

PatientKey key_of(const Sample& sample) {
  if (!sample.patient.empty()) return {false, sample.patient};
  return {true, sample.path};
}
}  // namespace

std::vector<Sample> split_by_patient(const std::vector<Sample>& samples, const SplitOptions& options) {
  if (!(options.val_fraction >= 0.0 && options.val_fraction <= 1.0))
    throw UsageError("validation fraction must be within [0, 1], got " +
                     std::to_string(options.val_fraction));

  // Label counts per patient (labels -1, 0, 1), test samples left out.
  std::map<PatientKey, std::map<int, int64_t>> label_counts;
  for (const Sample& sample : samples)
    if (sample.split != "test") ++label_counts[key_of(sample)][sample.label];

  // Stratum = majority label; ties go to the larger label (pneumonia over
  // normal, any known label over unknown). std::map keeps keys sorted, so the
  // order below does not depend on the input order.
  std::map<int, std::vector<PatientKey>> strata;
  for (const auto& [key, counts] : label_counts) {
    int best_label = 0;
    int64_t best_count = -1;
    for (const auto& [label, count] : counts)
      if (count >= best_count) {
        best_label = label;
        best_count = count;
      }
    strata[best_label].push_back(key);
  }

  std::set<PatientKey> validation;
  for (auto& [label, patients] : strata) {
    (void)label;
    std::mt19937_64 rng(options.seed);
    std::shuffle(patients.begin(), patients.end(), rng);
    const auto n_val =
        static_cast<size_t>(std::llround(options.val_fraction * static_cast<double>(patients.size())));
    validation.insert(patients.begin(),
                      patients.begin() + static_cast<std::ptrdiff_t>(std::min(n_val, patients.size())));
  }

  std::vector<Sample> result = samples;
  for (Sample& sample : result)
    if (sample.split != "test") sample.split = validation.count(key_of(sample)) ? "val" : "train";
  return result;
}

std::vector<std::string> patients_in_several_splits(const std::vector<Sample>& samples) {
  std::map<std::string, std::set<std::string>> splits;
  for (const Sample& sample : samples)
    if (!sample.patient.empty() && !sample.split.empty()) splits[sample.patient].insert(sample.split);
  std::vector<std::string> result;
  for (const auto& [patient, names] : splits)
    if (names.size() > 1) result.push_back(patient);
  return result;
}

}  // namespace pneumoscan
