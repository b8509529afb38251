#pragma once
// What a training run tells the world, as events: the trainer calls a
// TrainObserver and prints nothing itself. The command line prints the
// events, `compare` prints them per entry, and monitors (TensorBoard files, a
// live page) or a distributed run's rank 0 plug in as further observers,
// without touching the loop. Light (no LibTorch), like train/history.h.
//
// Every call comes from the thread that called train_model, in the order
// below; every method has an empty default, so an observer overrides only
// what it needs. An observer must not throw.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "eval/metrics.h"
#include "train/history.h"

namespace pneumoscan {

struct TrainStart {
  std::string architecture;
  int64_t trainable_parameters = 0, parameters = 0;
  bool features_frozen = false;  // at epoch 1
  std::vector<std::string> class_names;
  std::vector<double> class_weights;  // one per class
  int epochs = 0;
};

struct TrainStep {
  int epoch = 0;
  size_t step = 0, steps = 0;  // 1-based step of the epoch's `steps`
  int64_t images = 0;          // images seen this epoch so far
  double mean_loss = 0;        // this epoch's running mean training loss
  double learning_rate = 0;
};

struct TrainEnd {
  int epochs_run = 0, best_epoch = 0;
  bool stopped_early = false;
  double seconds = 0;        // sum of the epochs' wall times
  BinaryMetrics validation;  // the best model on validation, at the chosen threshold
  std::string model_path;
};

class TrainObserver {
 public:
  virtual ~TrainObserver() = default;

  // The pretrained weights imported into the fresh network (models/pretrained.h's format(report)).
  virtual void on_pretrained_imported(const std::string& /*path*/, const std::string& /*report*/) {}
  // Decoding the training ("train") or validation ("validation") images into
  // the cache: progress first with done = 0, then after every image; then the outcome.
  virtual void on_decode_progress(const std::string& /*what*/, size_t /*done*/, size_t /*total*/) {}
  virtual void on_decoded(const std::string& /*what*/, size_t /*images*/,
                          const std::vector<std::string>& /*failures*/, double /*seconds*/) {}
  virtual void on_train_start(const TrainStart& /*start*/) {}
  virtual void on_resumed(const std::string& /*checkpoint*/, int /*epochs_completed*/) {}
  virtual void on_epoch_start(int /*epoch*/, int /*epochs*/, size_t /*steps*/) {}
  virtual void on_features_unfrozen(int /*epoch*/, int64_t /*parameters*/, double /*learning_rate*/) {}
  virtual void on_step(const TrainStep& /*step*/) {}
  // Validation has not improved for `patience` epochs; the learning rate drops to `learning_rate`.
  virtual void on_learning_rate_cut(int /*patience*/, double /*learning_rate*/) {}
  // After validation; the checkpoint and the logs for this epoch are written.
  virtual void on_epoch_end(const EpochRecord& /*record*/, int /*epochs*/) {}
  virtual void on_early_stop(int /*patience*/, int /*best_epoch*/) {}
  // The model file is written.
  virtual void on_train_end(const TrainEnd& /*end*/) {}
};

// Forwards every event to each observer added, in the order added (not owned).
class CompositeObserver : public TrainObserver {
 public:
  CompositeObserver() = default;
  explicit CompositeObserver(std::vector<TrainObserver*> observers);
  void add(TrainObserver* observer);

  void on_pretrained_imported(const std::string& path, const std::string& report) override;
  void on_decode_progress(const std::string& what, size_t done, size_t total) override;
  void on_decoded(const std::string& what, size_t images, const std::vector<std::string>& failures,
                  double seconds) override;
  void on_train_start(const TrainStart& start) override;
  void on_resumed(const std::string& checkpoint, int epochs_completed) override;
  void on_epoch_start(int epoch, int epochs, size_t steps) override;
  void on_features_unfrozen(int epoch, int64_t parameters, double learning_rate) override;
  void on_step(const TrainStep& step) override;
  void on_learning_rate_cut(int patience, double learning_rate) override;
  void on_epoch_end(const EpochRecord& record, int epochs) override;
  void on_early_stop(int patience, int best_epoch) override;
  void on_train_end(const TrainEnd& end) override;

 private:
  template <typename... Parameters, typename... Arguments>
  void each(void (TrainObserver::*event)(Parameters...), const Arguments&... arguments);
  std::vector<TrainObserver*> observers_;
};

}  // namespace pneumoscan
