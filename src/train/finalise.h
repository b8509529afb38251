#pragma once
// The end of a classifier's training run, shared by the trainer
// (train/trainer.h) and the latent CNN's trainer on codes
// (generative/latent_train.h): the model file's training record and the
// TrainEnd event.
#include <nlohmann/json.hpp>
#include <string>

#include "eval/metrics.h"
#include "train/checkpoint.h"
#include "train/config.h"
#include "train/observer.h"

namespace pneumoscan {

// {config, data, epochs_run, best_epoch, training_seconds, threshold_rule, validation}.
nlohmann::json training_record(const TrainConfig& config, const nlohmann::json& data,
                               const TrainingState& state, const BinaryMetrics& validation);

// The run's end as the observers hear it.
TrainEnd train_end(const TrainConfig& config, const TrainingState& state, const BinaryMetrics& validation,
                   const std::string& model_path);

}  // namespace pneumoscan
