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

class Communicator;  // distributed/communicator.h

struct StepResult {
  double loss = 0;       // the batch's class-weighted mean loss
  bool finite = true;    // false: the loss is NaN or infinite, and nothing was updated
  torch::Tensor logits;  // [N, K], detached
};

// Zeroes the gradients, runs the network on `images` (already on its device),
// takes the class-weighted loss against the class indices `labels`
// (train/losses.h, with `label_smoothing`) and, when
// the loss is finite, backpropagates and updates the weights.
//
// With `comm` (data-parallel training, a collective: every rank steps
// together) `images` is this rank's part of the global batch. The gradient is
// that of the class-weighted mean over the whole global batch: each rank's
// loss is scaled by N x its share of the batch's total class weight, the
// gradients are all-reduced in buckets and divided by N (distributed/sync.h).
// With equal weights and equal parts this is torch DDP's mean of the ranks'
// means; with class weights it stays exact where DDP's is not. When any
// rank's loss is not finite, every rank returns finite = false, unchanged.
// The returned loss is this rank's. Throws DistributedError when a peer is lost.
StepResult train_step(ClassifierImpl& net, torch::optim::Optimizer& optimizer, const torch::Tensor& images,
                      const torch::Tensor& labels, const std::vector<double>& class_weights,
                      double label_smoothing = 0.0, Communicator* comm = nullptr);

struct EpochTotals {
  double mean_loss = 0;  // over the epoch's images
  double accuracy = 0;   // NORMAL vs pneumonia at P(pneumonia) >= 0.5
  int64_t images = 0;
};

// One epoch: train_step on every batch of `stream` (moved to `device`),
// reporting each step to `observer`. The caller sets the network's mode and
// the random seed first. Throws c10::Error ("training diverged ... at epoch
// N; lower the learning rate") at the first non-finite loss.
// With `comm`, `stream` holds this rank's shard (distributed/sampler.h), the
// steps are data-parallel, the step events count this rank's images, and
// the totals are summed over all ranks.
EpochTotals run_epoch(ClassifierImpl& net, torch::optim::Optimizer& optimizer, BatchStream& stream,
                      const std::vector<double>& class_weights, double label_smoothing,
                      const torch::Device& device, int epoch, double learning_rate, TrainObserver& observer,
                      Communicator* comm = nullptr);

}  // namespace pneumoscan
