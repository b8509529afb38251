#pragma once
// The learning-rate schedule and early stopping of a training run: reduce on
// plateau of the validation loss, stop after `patience` epochs without a
// better one, and remember the best epoch. All of it is in checkpoints, so a
// resumed run goes on exactly as an uninterrupted one would.
#include <cmath>
#include <nlohmann/json.hpp>

namespace pneumoscan {

struct PlateauSchedule {
  double learning_rate = 0;
  double best_val_loss = INFINITY;
  int best_epoch = 0;
  int epochs_without_improvement = 0;
  int epochs_since_lr_cut = 0;

  enum class Outcome { kImproved, kNotImproved, kLearningRateCut };

  // Takes an epoch's validation loss. kImproved when it beats the best by
  // more than 1e-4 (that epoch becomes the best); otherwise, after `patience`
  // epochs without improvement since the last cut, the learning rate is
  // multiplied by `factor`, not below `min_learning_rate` (kLearningRateCut).
  Outcome update(int epoch, double val_loss, int patience, double factor, double min_learning_rate);

  // Whether `patience` epochs have passed without improvement.
  bool exhausted(int patience) const { return epochs_without_improvement >= patience; }
};

// The checkpoint's fields (best_val_loss null when infinite); from_json throws
// nlohmann::json::exception on a missing field.
void add_to_json(const PlateauSchedule& schedule, nlohmann::json& json);
PlateauSchedule plateau_schedule_from_json(const nlohmann::json& json);

}  // namespace pneumoscan
