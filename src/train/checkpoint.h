#pragma once
// Everything needed to continue an interrupted run exactly where it stopped,
// in one file next to the model (MODEL.ckpt), written atomically after every
// epoch: the progress, the schedule, the current and the best weights, and the
// optimiser's state.
#include <ATen/core/ivalue.h>
#include <torch/optim/optimizer.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "models/classifier.h"
#include "models/state_dict.h"
#include "train/config.h"
#include "train/history.h"
#include "train/schedule.h"
#include "train/weight_average.h"

namespace pneumoscan {

struct TrainingState {
  int epochs_completed = 0;
  PlateauSchedule schedule;
  std::vector<EpochRecord> history;
  double seconds = 0;  // sum of the epochs' wall times
};

// Detached CPU copies of a module's weights.
NamedTensors snapshot(torch::nn::Module& module);

// Weights as an archive value (contiguous), and back; ModelFileError naming
// `source` for another value or a tensor running past its data.
c10::Dict<std::string, torch::Tensor> to_dict(const NamedTensors& weights);
NamedTensors from_dict(const c10::IValue& value, const std::string& source);

// `average`: the run's weight average (train/weight_average.h), when it keeps one.
void save_checkpoint(const std::string& path, const TrainingState& state, const TrainConfig& config,
                     ClassifierImpl& net, const NamedTensors& best, torch::optim::Optimizer& optimizer,
                     const WeightAverage* average = nullptr);

// Restores `state`, the weights of `net`, `best`, `average` (when given; the
// checkpoint must hold one), and `optimizer`, rebuilt
// for the freeze state of the last completed epoch (train/optimizer.h) before
// its saved state is loaded. Throws ModelFileError for an unreadable file and
// UsageError when the checkpoint was made with other settings that matter.
// Opens a checkpoint written by this program and returns its "state" JSON;
// `archive` gets the file's value, read as data (models/torch_archive.h: no
// code in the file is compiled), for archive_attribute. Throws
// ModelFileError naming the file: missing, damaged, or not a PneumoScan
// checkpoint. Shared by the classifier and the generative trainers.
nlohmann::json open_checkpoint(const std::string& path, c10::IValue& archive);

void load_checkpoint(const std::string& path, const TrainConfig& config, TrainingState& state,
                     ClassifierImpl& net, NamedTensors& best,
                     std::unique_ptr<torch::optim::Optimizer>& optimizer, WeightAverage* average = nullptr);

}  // namespace pneumoscan
