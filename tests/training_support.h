#pragma once
// The real-data set-up shared by the tests that train: a small
// patient-grouped split of the shared chest_xray data, a quick configuration,
// and copies of a network's weights to compare before and after.
#include <torch/torch.h>

#include <cstdint>
#include <map>
#include <string>

#include "data/train_val.h"
#include "models/state_dict.h"
#include "train/trainer.h"

namespace pneumoscan::test {

// The chest_xray train folder under `root` split by patient (15 % of the
// patients for validation, `seed`), cut to stratified subsets of
// `train_images` and `val_images`.
inline TrainValSplit small_real_split(const std::string& root, int64_t train_images, int64_t val_images,
                                      uint64_t seed) {
  TrainValSplit split = resolve_train_val(root, "", 0.15, seed);
  split.train = stratified_subset(split.train, train_images, seed);
  split.val = stratified_subset(split.val, val_images, seed);
  return split;
}

// A configuration for short runs: the seed's small CNN with one sigmoid output.
inline TrainConfig quick_config(int64_t input_size, int epochs, int batch_size, uint64_t seed) {
  TrainConfig config;
  config.spec = {"small-cnn", input_size, 1, 1};
  config.epochs = epochs;
  config.batch_size = batch_size;
  config.seed = seed;
  return config;
}

// Detached copies of a module's parameters and buffers by name.
inline std::map<std::string, torch::Tensor> copy_of(torch::nn::Module& net) {
  std::map<std::string, torch::Tensor> copy;
  for (auto& [name, tensor] : state_dict(net)) copy[name] = tensor.detach().clone();
  return copy;
}

}  // namespace pneumoscan::test
