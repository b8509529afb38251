#pragma once
// The unit of training work, shared by the trainer and the benchmark: one
// optimisation step on a batch, and one epoch of them over a batch stream.
#include <torch/optim/optimizer.h>

#include <cstdint>
#include <optional>
#include <random>
#include <vector>

#include "core/precision.h"
#include "data/loader.h"
#include "models/classifier.h"
#include "train/observer.h"

namespace pneumoscan {

class Communicator;   // distributed/communicator.h
class WeightAverage;  // train/weight_average.h

struct StepResult {
  double loss = 0;       // the batch's class-weighted mean loss
  bool finite = true;    // false: the loss is NaN or infinite, and nothing was updated
  torch::Tensor logits;  // [N, K], detached
};

// One batch's mixup: the images become lambda x + (1 - lambda) x[permutation]
// and the loss lambda L(y) + (1 - lambda) L(y[permutation]).
struct MixupDraw {
  double lambda = 1.0;
  std::vector<int64_t> permutation;  // of the batch's rows
};

// lambda ~ Beta(alpha, alpha) and a uniform permutation of `rows`, from `rng`.
MixupDraw draw_mixup(double alpha, int64_t rows, std::mt19937_64& rng);

struct StepOptions {
  std::vector<double> class_weights = {1.0, 1.0};  // one per class (train/losses.h)
  double label_smoothing = 0.0;
  // Mixup: run_epoch draws each step's MixupDraw from (seed, epoch, step)
  // when alpha > 0; train_step applies `mixup` when set.
  double mixup_alpha = 0.0;
  uint64_t seed = 42;
  std::optional<MixupDraw> mixup;
  // bfloat16: mixed precision. The forward pass runs under autocast
  // (convolutions and matrix products in bf16, the loss in float32), while
  // weights, gradients and the optimiser's state stay float32.
  Precision precision = Precision::kFloat32;
  Communicator* comm = nullptr;  // data-parallel training (below); nullptr = one process
  // run_epoch updates it after every step (every rank alike: their weights are equal after a step).
  WeightAverage* average = nullptr;
};

// Zeroes the gradients, runs the network on `images` (already on its device),
// takes the class-weighted loss against the class indices `labels`
// (train/losses.h, with the options' label smoothing; mixed as
// options.mixup says) and, when the loss is finite, backpropagates and
// updates the weights.
//
// With a communicator (data-parallel training, a collective: every rank steps
// together) `images` is this rank's part of the global batch. The gradient is
// that of the class-weighted mean over the whole global batch: each rank's
// loss is scaled by N x its share of the batch's total class weight, the
// gradients are all-reduced in buckets and divided by N (distributed/sync.h).
// With equal weights and equal parts this is torch DDP's mean of the ranks'
// means; with class weights it stays exact where DDP's is not (under mixup
// the shares follow the unmixed labels, an approximation). When any
// rank's loss is not finite, every rank returns finite = false, unchanged.
// The returned loss is this rank's. Throws DistributedError when a peer is lost.
StepResult train_step(ClassifierImpl& net, torch::optim::Optimizer& optimizer, const torch::Tensor& images,
                      const torch::Tensor& labels, const StepOptions& options = {});

struct EpochTotals {
  double mean_loss = 0;  // over the epoch's images
  double accuracy = 0;   // NORMAL vs pneumonia at P(pneumonia) >= 0.5 (under mixup: of the blends, against
                         // each row's own label)
  int64_t images = 0;
};

// One epoch: train_step on every batch of `stream` (moved to `device`),
// reporting each step to `observer`. The caller sets the network's mode and
// the random seed first. Throws c10::Error ("training diverged ... at epoch
// N; lower the learning rate") at the first non-finite loss.
// With a communicator, `stream` holds this rank's shard (distributed/sampler.h),
// the steps are data-parallel, the step events count this rank's images, and
// the totals are summed over all ranks.
EpochTotals run_epoch(ClassifierImpl& net, torch::optim::Optimizer& optimizer, BatchStream& stream,
                      const StepOptions& options, const torch::Device& device, int epoch,
                      double learning_rate, TrainObserver& observer);

// Autocast to bfloat16 on `device` for the guard's lifetime when `precision`
// is bfloat16 (a no-op for float32); the thread's previous autocast state
// comes back afterwards. Autocast state is per thread.
class AutocastGuard {
 public:
  AutocastGuard(Precision precision, const torch::Device& device);
  ~AutocastGuard();
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  bool active_ = false;
  bool cuda_ = false;
  bool was_enabled_ = false;
  c10::ScalarType previous_type_ = c10::kBFloat16;
};

}  // namespace pneumoscan
