#pragma once
// The unit of training work, shared by the trainer and the benchmark: one
// optimisation step on a batch, and one epoch of them over a batch stream.
#include <torch/optim/optimizer.h>

#include <cstdint>
#include <vector>

#include "data/loader.h"
#include "models/classifier.h"
#include "train/observer.h"

namespace pneumoscan {

struct StepResult {
  double loss = 0;       // the batch's class-weighted mean loss
  bool finite = true;    // false: the loss is NaN or infinite, and nothing was updated
  torch::Tensor logits;  // [N, K], detached
};

// Zeroes the gradients, runs the network on `images` (already on its device),
// takes the class-weighted loss against the class indices `labels`
// (train/losses.h, with `label_smoothing`) and, when
// the loss is finite, backpropagates and updates the weights.
StepResult train_step(ClassifierImpl& net, torch::optim::Optimizer& optimizer, const torch::Tensor& images,
                      const torch::Tensor& labels, const std::vector<double>& class_weights,
                      double label_smoothing = 0.0);

struct EpochTotals {
  double mean_loss = 0;  // over the epoch's images
  double accuracy = 0;   // NORMAL vs pneumonia at P(pneumonia) >= 0.5
  int64_t images = 0;
};

// One epoch: train_step on every batch of `stream` (moved to `device`),
// reporting each step to `observer`. The caller sets the network's mode and
// the random seed first. Throws c10::Error ("training diverged ... at epoch
// N; lower the learning rate") at the first non-finite loss.
EpochTotals run_epoch(ClassifierImpl& net, torch::optim::Optimizer& optimizer, BatchStream& stream,
                      const std::vector<double>& class_weights, double label_smoothing,
                      const torch::Device& device, int epoch, double learning_rate, TrainObserver& observer);

}  // namespace pneumoscan
