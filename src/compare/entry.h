#pragma once
// One entry of `compare --archs`: an architecture with its own settings,
// written ARCH[:key=value]..., so that a big network can get a smaller budget
// and transfer learning can sit next to training from scratch in one run.
#include <cstdint>
#include <string>
#include <vector>

#include "train/config.h"

namespace pneumoscan {

struct CompareEntry {
  std::string text;                   // as given
  std::string label;                  // row label and model file name (default: the architecture)
  TrainConfig config;                 // the command-wide settings with the entry's overrides
  int64_t limit = 0;                  // > 0: train on a stratified subset of this many images
  std::string codes_path;             // latent-cnn: the autoencoder codes it trains on (`codes=FILE`)
  std::vector<std::string> budget;    // "size 128", "epochs 5", "limit 500": where the budget differs
  std::vector<std::string> settings;  // the other overrides, "lr=0.0001", "pretrained=...", ...
};

// Keys: name, size, epochs, batch, lr, limit, pretrained, freeze, unfreeze-after,
// freeze-bn-stats, norm (a mode or a preset: use_normalization), norm-mean,
// norm-std (one value), channels (1 or 3), codes (latent-cnn only, and
// required there: `pneumoscan autoencoder encode`'s file). `base` holds the command-wide
// settings, `base_limit` the command-wide training limit (0 = none).
// Throws UsageError naming the entry for an unknown architecture or key, or a bad value.
CompareEntry parse_compare_entry(const std::string& text, const TrainConfig& base, int64_t base_limit);

// A comma-separated list of entries; labels must be unique.
std::vector<CompareEntry> parse_compare_entries(const std::string& list, const TrainConfig& base,
                                                int64_t base_limit);

}  // namespace pneumoscan
