#pragma once
// A TrainObserver that writes the run's TensorBoard event files
// (training_log.h): the configuration at the start, the loss and learning
// rate every few steps, the epoch figures, histograms and Grad-CAM overlays
// after each validation, and everything flushed at each epoch's end.
// Observers must not throw: the first error (a full disk, say) is kept in
// error() and logging stops; training goes on.
#include <string>
#include <vector>

#include "monitor/training_log.h"
#include "train/observer.h"
#include "train/trainer.h"

namespace pneumoscan {

class TensorBoardObserver : public TrainObserver {
 public:
  // `run_dir`: from run_log_dir(); `val`: the validation samples (the fixed
  // Grad-CAM set is drawn from them); `config`: the run's settings, logged as
  // text together with `extra` (e.g. the data summary). IoError when the
  // event file cannot be created.
  TensorBoardObserver(const std::string& run_dir, const TrainConfig& config, const std::vector<Sample>& val,
                      nlohmann::json extra = nlohmann::json::object(), TrainingLogOptions options = {});

  void on_train_start(const TrainStart& start) override;
  void on_epoch_start(int epoch, int epochs, size_t steps) override;
  void on_step(const TrainStep& step) override;
  void on_validated(const EpochValidation& validation) override;
  void on_epoch_end(const EpochRecord& record, int epochs) override;
  void on_train_end(const TrainEnd& end) override;

  // The best model's validation curves (TrainResult's probabilities), after train_model returned.
  void log_final_curves(const std::vector<float>& probabilities, const std::vector<int>& labels, int epoch);

  const std::string& run_dir() const { return log_.run_dir(); }
  const std::string& error() const { return error_; }

 private:
  template <typename Action>
  void guarded(Action action);
  TrainingLog log_;
  TrainConfig config_;
  nlohmann::json extra_;
  std::string error_;
  size_t steps_per_epoch_ = 0;
  // Running-mean bookkeeping, to log the mean loss of the last few batches.
  double interval_loss_sum_ = 0;
  int64_t interval_images_ = 0, last_images_ = 0;
  double last_mean_ = 0;
  std::vector<float> pending_probabilities_;
  std::vector<int> pending_labels_;
};

}  // namespace pneumoscan
