#include "generative/synthetic.h"

#include <algorithm>
#include <filesystem>
#include <set>

#include "core/errors.h"
#include "generative/sampling.h"

namespace pneumoscan {

SyntheticSet read_synthetic(const std::string& spec) {
  SyntheticSet set;
  set.dir = spec;
  std::string class_name;
  const size_t colon = spec.rfind(':');
  if (colon != std::string::npos && label_from_name(spec.substr(colon + 1)) >= 0) {
    set.dir = spec.substr(0, colon);
    class_name = spec.substr(colon + 1);
  }
  if (!std::filesystem::is_directory(set.dir)) throw InputError(set.dir, "not a folder of synthetic images");
  if (class_name.empty()) class_name = sampled_class(set.dir);
  if (class_name.empty())
    throw UsageError("--synthetic " + spec + ": say the class (DIR:normal or DIR:pneumonia); " + set.dir +
                     " has no samples.json");
  set.label = label_from_name(class_name);
  if (set.label != kNormal && set.label != kPneumonia)
    throw UsageError("--synthetic " + spec + ": unknown class '" + class_name + "' (normal, pneumonia)");
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(set.dir)) {
    const auto& path = entry.path();
    if (entry.is_regular_file() && path.extension() == ".png" && path.filename() != "contact_sheet.png")
      files.push_back(path);
  }
  std::sort(files.begin(), files.end());
  if (files.empty()) throw InputError(set.dir, "holds no synthetic PNG images");
  for (const auto& path : files) {
    Sample s;
    s.path = path.string();
    s.label = set.label;
    s.patient = "synthetic:" + path.stem().string();
    s.split = "train";
    set.samples.push_back(s);
  }
  return set;
}

void add_synthetic_to_training(TrainValSplit& split, const SyntheticSet& synthetic) {
  std::set<std::string> real;
  for (const auto* side : {&split.train, &split.val})
    for (const auto& s : *side) real.insert(s.path);
  for (const auto& s : synthetic.samples)
    if (real.count(s.path) > 0) throw InputError(s.path, "is both a synthetic and a real image of the split");
  split.train.insert(split.train.end(), synthetic.samples.begin(), synthetic.samples.end());
}

nlohmann::json synthetic_summary(const SyntheticSet& synthetic) {
  return {{"dir", synthetic.dir},
          {"class", kClassNames.at(static_cast<size_t>(synthetic.label))},
          {"images", synthetic.samples.size()}};
}

}  // namespace pneumoscan
