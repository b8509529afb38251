#pragma once
// Training done right for an imbalanced medical data set: class-weighted
// loss, Adam or SGD with weight decay, reduce-LR-on-plateau, early stopping,
// best checkpoint by validation loss, seeds, resume, and a decision
// threshold chosen on validation for a target sensitivity.
//
// The run is built from parts: train/config.h (settings and their rules),
// train/step.h (one step, one epoch), train/schedule.h (plateau and early
// stopping), train/checkpoint.h (resume), train/history.h (epoch logs) and
// train/observer.h (every event, for whoever prints or monitors).
#include <string>
#include <vector>

#include "data/sample.h"
#include "eval/metrics.h"
#include "model_file/model_file.h"
#include "train/config.h"
#include "train/history.h"
#include "train/observer.h"

namespace pneumoscan {

class Communicator;  // distributed/communicator.h

struct TrainResult {
  ModelMetadata metadata;
  std::vector<EpochRecord> history;
  BinaryMetrics validation;                    // best model, at the chosen threshold
  std::vector<float> val_probabilities;        // the best model's P(pneumonia) per decoded validation image
  std::vector<int> val_labels;                 // binary
  std::vector<int> val_class_labels;           // class indices
  std::vector<float> val_class_probabilities;  // [n, classes] row-major
  int best_epoch = 0;
  double seconds = 0;
};

// The checkpoint next to a model path (MODEL.ckpt); the epoch logs are train/history.h's.
std::string checkpoint_path(const std::string& model_path);

// Trains on `train`, selects on `val`, writes the model to `model_path`.
// After every epoch it writes a checkpoint (for `resume`) and the epoch logs,
// all atomically. Events go to `observer` (none: silent). Throws
// UsageError/InputError with a clear message (validate(config) first).
//
// With `comm` (data-parallel, every rank calls this with the same data,
// config and paths): rank 0's weights are broadcast at the start; each rank
// trains on its shard of every epoch (distributed/sampler.h) with a batch of
// config.batch_size / world size (the batch size is global; UsageError when
// the world size does not divide it) and data-parallel steps
// (train/step.h); BatchNorm statistics are averaged over the ranks after
// every epoch; rank 0 alone validates on the whole validation set while the
// others wait for its validation loss (schedule, early stopping and best
// epoch follow it on every rank), and rank 0 alone writes the checkpoint,
// the logs and the model file, chooses the threshold and sends events to
// `observer`. With `resume` every rank continues from rank 0's checkpoint
// (sent over the group; no shared file system needed). The other ranks
// return the history and the best epoch, with no metadata or validation.
// Throws DistributedError when the group is lost.
TrainResult train_model(const std::vector<Sample>& train, const std::vector<Sample>& val,
                        const TrainConfig& config, const std::string& model_path, bool resume = false,
                        TrainObserver* observer = nullptr, Communicator* comm = nullptr);

}  // namespace pneumoscan
