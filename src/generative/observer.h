#pragma once
// Progress of the generative trainers (the autoencoder, the GAN) as events:
// they call the TrainObserver events that fit (decoding, start, resume,
// epoch start, steps, epoch end) and two of their own, since their epochs
// are not measured in accuracy: named figures (losses, D(x), ...) and a
// picture of the epoch's state (reconstructions, the fixed-noise grid). The
// command line prints them, monitors write them to event files.
#include <string>
#include <utility>
#include <vector>

#include "train/observer.h"

namespace pneumoscan {

using NamedFigures = std::vector<std::pair<std::string, double>>;

class GenerativeObserver : public TrainObserver {
 public:
  // The epoch's figures, by name, in a fixed order (before on_epoch_end).
  virtual void on_figures(int /*epoch*/, const NamedFigures& /*figures*/) {}
  // A PNG picture of the epoch's state under `tag` (before on_epoch_end).
  virtual void on_picture(int /*epoch*/, const std::string& /*tag*/, const std::string& /*png*/) {}
};

// Forwards the events the generative trainers send to each observer added (not owned; null ignored).
class GenerativeObservers : public GenerativeObserver {
 public:
  explicit GenerativeObservers(std::vector<GenerativeObserver*> observers);
  void on_decode_progress(const std::string& what, size_t done, size_t total) override;
  void on_decoded(const std::string& what, size_t images, const std::vector<std::string>& failures,
                  double seconds) override;
  void on_train_start(const TrainStart& start) override;
  void on_resumed(const std::string& checkpoint, int epochs_completed) override;
  void on_epoch_start(int epoch, int epochs, size_t steps) override;
  void on_step(const TrainStep& step) override;
  void on_figures(int epoch, const NamedFigures& figures) override;
  void on_picture(int epoch, const std::string& tag, const std::string& png) override;
  void on_epoch_end(const EpochRecord& record, int epochs) override;
  void on_train_end(const TrainEnd& end) override;

 private:
  std::vector<GenerativeObserver*> observers_;
};

}  // namespace pneumoscan
