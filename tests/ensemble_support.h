#pragma once
// Untrained ensembles for the tests that explain, embed or search with one:
// random small-cnn members (64 px, one sigmoid output) and their ensemble.
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "model_file/ensemble.h"
#include "model_file/model_file.h"

namespace pneumoscan::test {

// `count` members seeded first_seed, first_seed + 1, ..., in eval mode.
inline std::vector<LoadedModel> random_small_cnn_members(uint64_t first_seed, int count = 2) {
  std::vector<LoadedModel> members(static_cast<size_t>(count));
  for (int i = 0; i < count; ++i) {
    torch::manual_seed(first_seed + static_cast<uint64_t>(i));
    LoadedModel& m = members[static_cast<size_t>(i)];
    m.metadata.spec = complete_spec({"small-cnn", 64, 1, 1});
    m.metadata.preprocess.input_size = 64;
    m.net = create_model(m.metadata.spec);
    m.net->eval();
  }
  return members;
}

// The members' ensemble named "pair", saved to `path`.
inline void save_pair_ensemble(const std::vector<LoadedModel>& members, const std::string& path) {
  const LoadedModel pair = make_ensemble(members, {"a.psmodel", "b.psmodel"}, "pair");
  save_model(path, pair.metadata, *pair.net);
}

}  // namespace pneumoscan::test
