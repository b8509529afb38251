#pragma once
// An exponential moving average of a network's weights over the optimiser's
// steps (Polyak averaging; "model EMA" in timm). Averaging the weights along
// the end of training finds flatter minima, which generalise better under
// domain shift (SWAD, Cha et al., NeurIPS 2021). The trainer validates, keeps
// and saves the average instead of the last step's weights when
// TrainConfig::ema_decay > 0.
#include <torch/nn/module.h>

#include <cstdint>

#include "models/state_dict.h"

namespace pneumoscan {

class WeightAverage {
 public:
  // Starts at `module`'s current weights (copies on their device) and follows
  // its tensors from then on: `module` must outlive the average, and its
  // tensors be changed in place (as optimisers, load_state_dict and Module::to
  // do). decay in [0, 1); UsageError otherwise.
  WeightAverage(torch::nn::Module& module, double decay);

  // After an optimiser step: each floating-point weight w becomes
  //   average = d * average + (1 - d) * w,  d = min(decay, (1 + n) / (10 + n)),
  // n the number of earlier updates (the warm-up keeps the start, when the
  // network is far from where it ends, from lingering in the average).
  // Other tensors (counters) are copied.
  void update();

  // The averaged weights, named as state_dict(module).
  const NamedTensors& weights() const { return weights_; }
  int64_t updates() const { return updates_; }
  double decay() const { return decay_; }

  // Continues from a checkpoint: `weights` (moved to the average's devices)
  // after `updates` updates. ModelFileError naming `source` when they do not
  // match the network's names and shapes.
  void restore(const NamedTensors& weights, int64_t updates, const std::string& source);

 private:
  double decay_;
  int64_t updates_ = 0;
  NamedTensors weights_;
  NamedTensors network_;  // the module's own tensors (aliases), kept so a step need not list them again
};

}  // namespace pneumoscan
