#include "train/optimizer.h"

#include <torch/optim/adamw.h>
#include <torch/optim/sgd.h>

#include <set>
#include <type_traits>

#include "core/errors.h"
#include "models/pretrained.h"

namespace pneumoscan {

std::unique_ptr<torch::optim::Optimizer> make_optimizer(ClassifierImpl& net, const TrainConfig& config,
                                                        int epoch, double lr) {
  if (features_frozen(config, epoch))
    freeze_features(net);
  else
    unfreeze_all(net);
  // One group at one rate; or group 0 the head at the rate and group 1 the rest at
  // feature_lr_scale times it (absent while the features are frozen).
  std::vector<std::vector<torch::Tensor>> groups(1);
  if (config.feature_lr_scale == 1.0) {
    groups[0] = trainable_parameters(net);
  } else {
    std::set<const void*> head;
    for (const auto& p : net.head_parameters()) head.insert(p.unsafeGetTensorImpl());
    groups.emplace_back();
    for (const auto& p : trainable_parameters(net))
      groups[head.count(p.unsafeGetTensorImpl()) != 0 ? 0 : 1].push_back(p);
    if (groups[1].empty()) groups.pop_back();  // features frozen: the head alone
  }
  // Every group starts from the same options; set_learning_rate gives each its rate.
  const auto with_options = [&groups](const auto& options) {
    std::vector<torch::optim::OptimizerParamGroup> param_groups;
    for (const auto& g : groups)
      param_groups.emplace_back(g, std::make_unique<std::decay_t<decltype(options)>>(options));
    return param_groups;
  };
  std::unique_ptr<torch::optim::Optimizer> optimizer;
  if (config.optimizer == "adam") {
    const auto options = torch::optim::AdamWOptions(lr).weight_decay(config.weight_decay);
    optimizer = std::make_unique<torch::optim::AdamW>(with_options(options), options);
  } else if (config.optimizer == "sgd") {
    const auto options = torch::optim::SGDOptions(lr)
                             .momentum(config.momentum)
                             .nesterov(true)
                             .weight_decay(config.weight_decay);
    optimizer = std::make_unique<torch::optim::SGD>(with_options(options), options);
  } else {
    throw UsageError("unknown optimizer '" + config.optimizer + "' (adam, sgd)");
  }
  set_learning_rate(*optimizer, config, lr);
  return optimizer;
}

void set_learning_rate(torch::optim::Optimizer& optimizer, const TrainConfig& config, double lr) {
  auto& groups = optimizer.param_groups();
  for (size_t g = 0; g < groups.size(); ++g)
    groups[g].options().set_lr(g == 0 ? lr : lr * config.feature_lr_scale);
}

}  // namespace pneumoscan
