#include "monitor/training_observer.h"

#include <torch/types.h>

#include "core/errors.h"
#include "models/registry.h"

namespace pneumoscan {

TensorBoardObserver::TensorBoardObserver(const std::string& run_dir, const TrainConfig& config,
                                         const std::vector<Sample>& val, nlohmann::json extra,
                                         TrainingLogOptions options)
    : log_(run_dir, val, options), config_(config), extra_(std::move(extra)) {
  config_.spec = complete_spec(config_.spec);  // the sizes the trainer will use, for the logged settings
}

template <typename Action>
void TensorBoardObserver::guarded(Action action) {
  if (!error_.empty()) return;
  try {
    action();
  } catch (const std::exception& e) {
    error_ = e.what();
  }
}

void TensorBoardObserver::on_train_start(const TrainStart& start) {
  guarded([&] {
    nlohmann::json config = {{"train", to_json(config_)},
                             {"trainable_parameters", start.trainable_parameters},
                             {"parameters", start.parameters},
                             {"class_names", start.class_names}};
    for (const auto& item : extra_.items()) config[item.key()] = item.value();
    log_.log_config(config);
  });
}

void TensorBoardObserver::on_epoch_start(int, int, size_t steps) {
  steps_per_epoch_ = steps;
  interval_loss_sum_ = 0;
  interval_images_ = last_images_ = 0;
  last_mean_ = 0;
}

void TensorBoardObserver::on_step(const TrainStep& step) {
  // The step reports the epoch's running mean; the batches since the last
  // point are recovered from it, so each point is the mean of its interval.
  const double total = step.mean_loss * static_cast<double>(step.images);
  interval_loss_sum_ += total - last_mean_ * static_cast<double>(last_images_);
  interval_images_ += step.images - last_images_;
  last_mean_ = step.mean_loss;
  last_images_ = step.images;
  const int64_t global = static_cast<int64_t>((step.epoch - 1) * steps_per_epoch_ + step.step);
  const int interval = log_.options().step_interval;
  if (interval <= 0 || global % interval != 0 || interval_images_ == 0) return;
  guarded([&] { log_.log_step(global, interval_loss_sum_ / interval_images_, step.learning_rate); });
  interval_loss_sum_ = 0;
  interval_images_ = 0;
}

void TensorBoardObserver::on_validated(const EpochValidation& v) {
  guarded([&] {
    log_.log_parameters(*v.net, v.epoch);
    log_.log_gradcam(*v.net, *v.preprocess, torch::Device(v.device), v.epoch);
  });
  pending_probabilities_ = *v.probabilities;
  pending_labels_ = *v.labels;
}

void TensorBoardObserver::on_epoch_end(const EpochRecord& record, int) {
  guarded([&] {
    log_.log_epoch(record, pending_probabilities_, pending_labels_);
    log_.flush();
  });
}

void TensorBoardObserver::on_train_end(const TrainEnd&) {
  guarded([&] { log_.flush(); });
}

void TensorBoardObserver::log_final_curves(const std::vector<float>& probabilities,
                                           const std::vector<int>& labels, int epoch) {
  guarded([&] { log_.log_curves(probabilities, labels, epoch); });
}

}  // namespace pneumoscan
