#pragma once
// The optimiser of a training run, rebuilt whenever the set of trainable
// parameters changes (the start, a resume, unfreezing the features).
#include <torch/optim/optimizer.h>

#include <memory>

#include "models/classifier.h"
#include "train/config.h"

namespace pneumoscan {

// Sets the freeze state for `epoch` and builds config.optimizer over the
// trainable parameters at learning rate `lr`, with fresh moments. Throws
// UsageError for an unknown optimizer.
std::unique_ptr<torch::optim::Optimizer> make_optimizer(ClassifierImpl& net, const TrainConfig& config,
                                                        int epoch, double lr);

void set_learning_rate(torch::optim::Optimizer& optimizer, double lr);

}  // namespace pneumoscan
