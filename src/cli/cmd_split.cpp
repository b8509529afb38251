// pneumoscan split DATA --out MANIFEST.csv: carves a patient-grouped,
// label-stratified validation split out of the training images.
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "cli/command.h"
#include "core/errors.h"
#include "data/sample.h"
#include "data/split.h"

namespace pneumoscan::cli {
namespace {

struct SplitArgs {
  std::string data;
  std::string out;
  double val_fraction = 0.15;
  uint64_t seed = 42;
  bool include_official_val = false;
};

void print_table(const std::vector<Sample>& samples) {
  // split -> label -> (images, patients)
  std::map<std::string, std::map<int, int64_t>> images;
  std::map<std::string, std::map<int, std::set<std::string>>> patients;
  std::map<std::string, std::set<std::string>> all_patients;
  for (const Sample& s : samples) {
    ++images[s.split][s.label];
    patients[s.split][s.label].insert(s.patient);
    all_patients[s.split].insert(s.patient);
  }
  std::printf("%-6s %14s %16s %17s %19s %13s %15s\n", "split", "NORMAL images", "NORMAL patients",
              "PNEUMONIA images", "PNEUMONIA patients", "total images", "total patients");
  for (const char* split : {"train", "val", "test"}) {
    if (!images.count(split)) continue;
    auto& by_label = images[split];
    auto& patients_by_label = patients[split];
    int64_t total = 0;
    for (const auto& [label, count] : by_label) {
      (void)label;
      total += count;
    }
    std::printf("%-6s %14lld %16zu %17lld %19zu %13lld %15zu\n", split,
                static_cast<long long>(by_label[kNormal]), patients_by_label[kNormal].size(),
                static_cast<long long>(by_label[kPneumonia]), patients_by_label[kPneumonia].size(),
                static_cast<long long>(total), all_patients[split].size());
  }
}

int run_split(const SplitArgs& args) {
  namespace fs = std::filesystem;
  const std::vector<Sample> samples = read_dataset(args.data);

  std::vector<Sample> carve, test, left_out;
  for (Sample s : samples) {
    // Absolute paths: the manifest may live anywhere, and relative paths in it
    // are read back relative to its own folder.
    s.path = fs::absolute(s.path).lexically_normal().string();
    if (s.split == "train" || s.split.empty() || (s.split == "val" && args.include_official_val))
      carve.push_back(std::move(s));
    else if (s.split == "test")
      test.push_back(std::move(s));
    else
      left_out.push_back(std::move(s));
  }
  if (carve.empty()) throw InputError(args.data, "no training images to split");

  SplitOptions options;
  options.val_fraction = args.val_fraction;
  options.seed = args.seed;
  std::vector<Sample> result = split_by_patient(carve, options);
  result.insert(result.end(), test.begin(), test.end());

  const std::vector<std::string> leaked = patients_in_several_splits(result);
  if (!leaked.empty())
    throw InputError(args.data,
                     std::to_string(leaked.size()) +
                         " patients have images in the test split and in the training images, e.g. '" +
                         leaked.front() + "'; no manifest written");

  write_manifest(args.out, result);

  print_table(result);
  std::printf("patients in more than one split: %zu\n", leaked.size());
  if (!left_out.empty())
    std::printf(
        "left out: %zu images already marked val (the official val split; --include-official-val adds "
        "them)\n",
        left_out.size());
  std::printf("wrote %zu images to %s (val fraction %.3g of patients per class, seed %llu)\n", result.size(),
              args.out.c_str(), args.val_fraction, static_cast<unsigned long long>(args.seed));
  return 0;
}

PNEUMOSCAN_COMMAND(split, [](CLI::App& app) -> std::function<int()> {
  auto args = std::make_shared<SplitArgs>();
  CLI::App* sub =
      app.add_subcommand("split", "Carve a patient-grouped, stratified validation split into a manifest");
  sub->add_option("DATA", args->data, "Data folder (standard layout) or .csv manifest")->required();
  sub->add_option("--out", args->out, "Manifest to write (CSV: path,label,patient,split)")->required();
  sub->add_option("--val-fraction", args->val_fraction, "Fraction of patients per class for validation")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  sub->add_option("--seed", args->seed, "Random seed for the patient shuffle")->capture_default_str();
  sub->add_flag("--include-official-val", args->include_official_val,
                "Also carve from the official val split's images (default: train only)");
  return [args] { return run_split(*args); };
});

}  // namespace
}  // namespace pneumoscan::cli
