#pragma once
// What a training run tells its watchers, as events: monitors (TensorBoard
// files: monitor/training_observer.h) plug in here without touching the
// loop. Every call comes from the thread that called train_model, in the
// order below; every method has an empty default, so an observer overrides
// only what it needs. An observer must not throw. Light (no LibTorch): the
// network is only forward-declared.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "eval/metrics.h"
#include "image/preprocess.h"

namespace pneumoscan {

class ClassifierImpl;
struct EpochRecord;

struct TrainStart {
  std::string architecture;
  int64_t trainable_parameters = 0, parameters = 0;
  std::vector<std::string> class_names;
  int epochs = 0;
};

struct TrainStep {
  int epoch = 0;
  size_t step = 0, steps = 0;  // 1-based step of the epoch's `steps`
  int64_t images = 0;          // images seen this epoch so far
  double mean_loss = 0;        // this epoch's running mean training loss
  double learning_rate = 0;
};

// After an epoch's validation: for monitors that look at the network itself
// (weight and gradient histograms, Grad-CAM of fixed images).
struct EpochValidation {
  int epoch = 0;
  ClassifierImpl* net = nullptr;  // as trained this epoch; .grad holds the last batch's gradients
  const PreprocessConfig* preprocess = nullptr;       // the model's input preparation
  std::string device;                                 // where the network lives ("cpu", "cuda")
  const std::vector<float>* probabilities = nullptr;  // P(pneumonia) per decoded validation image
  const std::vector<int>* labels = nullptr;           // 1 = pneumonia
};

struct TrainEnd {
  int epochs_run = 0, best_epoch = 0;
  double seconds = 0;  // sum of the epochs' wall times
  std::string model_path;
};

class TrainObserver {
 public:
  virtual ~TrainObserver() = default;
  virtual void on_train_start(const TrainStart& /*start*/) {}
  virtual void on_epoch_start(int /*epoch*/, int /*epochs*/, size_t /*steps*/) {}
  virtual void on_step(const TrainStep& /*step*/) {}
  virtual void on_validated(const EpochValidation& /*validation*/) {}
  // After validation; the checkpoint and the logs for this epoch are written.
  virtual void on_epoch_end(const EpochRecord& /*record*/, int /*epochs*/) {}
  // The model file is written.
  virtual void on_train_end(const TrainEnd& /*end*/) {}
};

}  // namespace pneumoscan
