#include "train/optimizer.h"

#include <torch/optim/adamw.h>
#include <torch/optim/sgd.h>

#include "core/errors.h"
#include "models/pretrained.h"

namespace pneumoscan {

std::unique_ptr<torch::optim::Optimizer> make_optimizer(ClassifierImpl& net, const TrainConfig& config,
                                                        int epoch, double lr) {
  if (features_frozen(config, epoch))
    freeze_features(net);
  else
    unfreeze_all(net);
  const std::vector<torch::Tensor> parameters = trainable_parameters(net);
  if (config.optimizer == "adam")
    return std::make_unique<torch::optim::AdamW>(
        parameters, torch::optim::AdamWOptions(lr).weight_decay(config.weight_decay));
  if (config.optimizer == "sgd")
    return std::make_unique<torch::optim::SGD>(parameters, torch::optim::SGDOptions(lr)
                                                               .momentum(config.momentum)
                                                               .nesterov(true)
                                                               .weight_decay(config.weight_decay));
  throw UsageError("unknown optimizer '" + config.optimizer + "' (adam, sgd)");
}

void set_learning_rate(torch::optim::Optimizer& optimizer, double lr) {
  for (auto& group : optimizer.param_groups()) group.options().set_lr(lr);
}

}  // namespace pneumoscan
