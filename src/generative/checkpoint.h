#pragma once
// Resumable state of the generative trainers in one file (MODEL.ckpt, written
// atomically after every epoch): the run's state as JSON, the weights of
// each network, weight snapshots (the best epoch's) and the optimisers.
#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>

#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "models/state_dict.h"

namespace pneumoscan {

struct CheckpointParts {
  std::vector<std::pair<std::string, torch::nn::Module*>> networks;
  std::vector<std::pair<std::string, NamedTensors*>> snapshots;
  std::vector<std::pair<std::string, torch::optim::Optimizer*>> optimizers;
};

void save_parts(const std::string& path, const nlohmann::json& state, const CheckpointParts& parts);

// Restores every part in place and returns the state. Throws ModelFileError
// naming the file when it cannot be read or lacks a part, and UsageError
// when `settings` differ from the settings stored in state["settings"].
nlohmann::json load_parts(const std::string& path, const nlohmann::json& settings,
                          const CheckpointParts& parts);

}  // namespace pneumoscan
