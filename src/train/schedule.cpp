#include "train/schedule.h"

#include <algorithm>

namespace pneumoscan {

PlateauSchedule::Outcome PlateauSchedule::update(int epoch, double val_loss, int patience, double factor,
                                                 double min_learning_rate) {
  if (val_loss < best_val_loss - 1e-4) {
    best_val_loss = val_loss;
    best_epoch = epoch;
    epochs_without_improvement = 0;
    epochs_since_lr_cut = 0;
    return Outcome::kImproved;
  }
  ++epochs_without_improvement;
  if (++epochs_since_lr_cut >= patience && learning_rate > min_learning_rate) {
    learning_rate = std::max(min_learning_rate, learning_rate * factor);
    epochs_since_lr_cut = 0;
    return Outcome::kLearningRateCut;
  }
  return Outcome::kNotImproved;
}

void add_to_json(const PlateauSchedule& s, nlohmann::json& json) {
  json["best_val_loss"] = s.best_val_loss;  // nlohmann writes infinity as null
  json["best_epoch"] = s.best_epoch;
  json["epochs_without_improvement"] = s.epochs_without_improvement;
  json["epochs_since_lr_cut"] = s.epochs_since_lr_cut;
  json["learning_rate"] = s.learning_rate;
}

PlateauSchedule plateau_schedule_from_json(const nlohmann::json& j) {
  PlateauSchedule s;
  s.best_val_loss = j.at("best_val_loss").is_null() ? INFINITY : j.at("best_val_loss").get<double>();
  s.best_epoch = j.at("best_epoch");
  s.epochs_without_improvement = j.at("epochs_without_improvement");
  s.epochs_since_lr_cut = j.at("epochs_since_lr_cut");
  s.learning_rate = j.at("learning_rate");
  return s;
}

}  // namespace pneumoscan
