#pragma once
// The optimiser of a training run, rebuilt whenever the set of trainable
// parameters changes (the start, a resume, unfreezing the features).
#include <torch/optim/optimizer.h>

#include <memory>

#include "models/classifier.h"
#include "train/config.h"

namespace pneumoscan {

// Sets the freeze state for `epoch` and builds config.optimizer over the
// trainable parameters at learning rate `lr`, with fresh moments. With
// config.feature_lr_scale != 1 and the features trainable, two parameter
// groups: 0 the head at `lr`, 1 the rest at lr * feature_lr_scale; otherwise
// one. Throws UsageError for an unknown optimizer.
std::unique_ptr<torch::optim::Optimizer> make_optimizer(ClassifierImpl& net, const TrainConfig& config,
                                                        int epoch, double lr);

// The schedule's rate `lr` for the head (group 0) and lr * feature_lr_scale
// for the features (group 1, when make_optimizer made one).
void set_learning_rate(torch::optim::Optimizer& optimizer, const TrainConfig& config, double lr);

}  // namespace pneumoscan
