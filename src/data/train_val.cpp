#include "data/train_val.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <random>
#include <set>

#include "core/errors.h"
#include "data/qc.h"
#include "data/split.h"

namespace pneumoscan {
namespace {

bool is_manifest(const std::string& path) {
  std::string ext = std::filesystem::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), ::tolower);
  return ext == ".csv";
}

std::vector<Sample> training_rows(const std::vector<Sample>& samples) {
  std::vector<Sample> rows;
  for (const auto& s : samples)
    if (s.split == "train" || s.split.empty()) rows.push_back(s);
  return rows;
}

}  // namespace

TrainValSplit resolve_train_val(const std::string& data, const std::string& validation, double val_fraction,
                                uint64_t seed) {
  const std::vector<Sample> all = read_dataset(data);
  TrainValSplit result;
  if (!validation.empty()) {
    result.train = training_rows(all);
    const std::vector<Sample> given = read_dataset(validation);
    result.val = select_split(given, "val");
    if (result.val.empty()) result.val = given;
    result.how = "validation images from " + validation;
  } else if (is_manifest(data) && !select_split(all, "val").empty()) {
    result.train = select_split(all, "train");
    result.val = select_split(all, "val");
    result.how = "validation rows of manifest " + data;
  } else {
    SplitOptions options;
    options.val_fraction = val_fraction;
    options.seed = seed;
    const std::vector<Sample> carved = split_by_patient(training_rows(all), options);
    result.train = select_split(carved, "train");
    result.val = select_split(carved, "val");
    result.how = "validation carved from the training images by patient (fraction " +
                 std::to_string(val_fraction).substr(0, 4) + ", seed " + std::to_string(seed) + ")";
  }
  for (auto& s : result.train) s.split = "train";
  for (auto& s : result.val) s.split = "val";
  std::vector<Sample> both = result.train;
  both.insert(both.end(), result.val.begin(), result.val.end());
  const std::vector<std::string> leaked = patients_in_several_splits(both);
  if (!leaked.empty())
    throw InputError(validation.empty() ? data : validation,
                     std::to_string(leaked.size()) +
                         " patient(s) appear in both training and validation (e.g. '" + leaked.front() +
                         "')");
  return result;
}

std::vector<Sample> stratified_subset(const std::vector<Sample>& samples, int64_t count, uint64_t seed) {
  if (count <= 0 || count >= static_cast<int64_t>(samples.size())) return samples;
  std::vector<size_t> by_label[2];
  std::vector<size_t> other;
  for (size_t i = 0; i < samples.size(); ++i) {
    if (samples[i].label == kNormal || samples[i].label == kPneumonia)
      by_label[samples[i].label].push_back(i);
    else
      other.push_back(i);
  }
  std::mt19937_64 rng(seed);
  std::vector<size_t> chosen;
  const double fraction = static_cast<double>(count) / samples.size();
  for (auto& group : by_label) {
    std::shuffle(group.begin(), group.end(), rng);
    const size_t take = std::min(group.size(), static_cast<size_t>(std::llround(fraction * group.size())));
    chosen.insert(chosen.end(), group.begin(), group.begin() + take);
  }
  std::sort(chosen.begin(), chosen.end());
  std::vector<Sample> subset;
  for (size_t i : chosen) subset.push_back(samples[i]);
  return subset;
}

std::vector<Sample> without_paths(const std::vector<Sample>& samples,
                                  const std::vector<std::string>& excluded) {
  std::set<std::string> drop;
  for (const auto& path : excluded) drop.insert(std::filesystem::weakly_canonical(path).string());
  std::vector<Sample> kept;
  for (const auto& s : samples)
    if (!drop.count(std::filesystem::weakly_canonical(s.path).string())) kept.push_back(s);
  return kept;
}

TrainValSplit prepare_train_val(const TrainValOptions& options) {
  TrainValSplit split =
      resolve_train_val(options.data, options.validation, options.val_fraction, options.seed);
  if (!options.exclude_qc.empty()) {
    const auto paths = read_qc_exclusions(options.exclude_qc);
    const size_t before = split.train.size() + split.val.size();
    split.train = without_paths(split.train, paths);
    split.val = without_paths(split.val, paths);
    split.excluded_by_qc = before - split.train.size() - split.val.size();
  }
  if (options.limit > 0 && !split.train.empty()) {
    const double fraction = static_cast<double>(options.limit) / split.train.size();
    split.train = stratified_subset(split.train, options.limit, options.seed);
    split.val = stratified_subset(split.val, std::llround(fraction * split.val.size()), options.seed);
  }
  return split;
}

nlohmann::json data_summary(const TrainValOptions& options, const TrainValSplit& split) {
  nlohmann::json summary = {
      {"source", options.data}, {"validation", split.how}, {"excluded_by_qc", split.excluded_by_qc}};
  if (options.limit > 0) summary["limit"] = options.limit;
  return summary;
}

}  // namespace pneumoscan
