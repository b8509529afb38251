#include "train/finalise.h"

namespace pneumoscan {

nlohmann::json training_record(const TrainConfig& config, const nlohmann::json& data,
                               const TrainingState& state, const BinaryMetrics& validation) {
  return {{"config", to_json(config)},
          {"data", data},
          {"epochs_run", state.epochs_completed},
          {"best_epoch", state.schedule.best_epoch},
          {"training_seconds", state.seconds},
          {"threshold_rule",
           "highest threshold with validation sensitivity >= " + std::to_string(config.target_sensitivity)},
          {"validation", to_json(validation)}};
}

TrainEnd train_end(const TrainConfig& config, const TrainingState& state, const BinaryMetrics& validation,
                   const std::string& model_path) {
  TrainEnd end;
  end.epochs_run = state.epochs_completed;
  end.best_epoch = state.schedule.best_epoch;
  end.stopped_early = state.schedule.exhausted(config.early_stopping_patience);
  end.seconds = state.seconds;
  end.validation = validation;
  end.model_path = model_path;
  return end;
}

}  // namespace pneumoscan
