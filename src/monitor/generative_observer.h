#pragma once
// TensorBoard event files (event_writer.h) for the generative trainers
// (`autoencoder train`, `gan train` with --logdir), in LOGDIR/<run>/:
//   config                 the run's settings as JSON (text), with the parameter count
//   step/running_loss      the epoch's running mean loss every `step_interval` batches
//                          (autoencoder: MSE; GAN: discriminator loss), x = global step
//   epoch/<figure>         every figure of the epoch (train_mse, val_mse, ...; d_loss, g_loss, d_real,
//                          d_fake, ...), x = epoch
//   <picture>              the epoch's picture: "reconstructions" or "samples" (the fixed-noise grid)
// Like TensorBoardObserver, it never throws: the first error is kept in
// error() and logging stops while training goes on.
#include <nlohmann/json.hpp>
#include <string>

#include "generative/observer.h"
#include "monitor/event_writer.h"

namespace pneumoscan {

class GenerativeEventObserver : public GenerativeObserver {
 public:
  // IoError when the event file cannot be created in `run_dir`.
  GenerativeEventObserver(const std::string& run_dir, nlohmann::json config, int step_interval = 10);

  void on_train_start(const TrainStart& start) override;
  void on_epoch_start(int epoch, int epochs, size_t steps) override;
  void on_step(const TrainStep& step) override;
  void on_figures(int epoch, const NamedFigures& figures) override;
  void on_picture(int epoch, const std::string& tag, const std::string& png) override;
  void on_epoch_end(const EpochRecord& record, int epochs) override;
  void on_train_end(const TrainEnd& end) override;

  const std::string& run_dir() const { return run_dir_; }
  const std::string& file() const { return writer_.path(); }
  const std::string& error() const { return error_; }

 private:
  template <typename Action>
  void guarded(Action action);
  std::string run_dir_;
  EventWriter writer_;
  nlohmann::json config_;
  int step_interval_;
  size_t steps_per_epoch_ = 0;
  std::string error_;
};

}  // namespace pneumoscan
