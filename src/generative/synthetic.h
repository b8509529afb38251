#pragma once
// `train --synthetic DIR[:CLASS]`: generated images (`gan sample`'s folder)
// added to the training images only. They never enter validation, so
// neither model selection nor the threshold ever sees them; the model file's
// data summary records how many were used and from where.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data/sample.h"
#include "data/train_val.h"

namespace pneumoscan {

struct SyntheticSet {
  std::string dir;
  int label = -1;               // kNormal or kPneumonia
  std::vector<Sample> samples;  // DIR/*.png but the contact sheet, by name; patient "synthetic:<stem>"
};

// "DIR" (the class from DIR/samples.json, as `gan sample` writes it) or
// "DIR:CLASS" (normal or pneumonia, any case). Throws UsageError without a
// class or with an unknown one, InputError for a folder without images.
SyntheticSet read_synthetic(const std::string& spec);

// Appends the synthetic samples to split.train; validation is untouched.
// Throws InputError when a synthetic file is already one of the split's images.
void add_synthetic_to_training(TrainValSplit& split, const SyntheticSet& synthetic);

// {"dir", "class", "images"} for the model file's data summary.
nlohmann::json synthetic_summary(const SyntheticSet& synthetic);

}  // namespace pneumoscan
