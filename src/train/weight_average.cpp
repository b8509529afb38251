#include "train/weight_average.h"

#include <torch/torch.h>

#include <algorithm>
#include <map>
#include <string>

#include "core/errors.h"

namespace pneumoscan {

WeightAverage::WeightAverage(torch::nn::Module& module, double decay) : decay_(decay) {
  if (!(decay >= 0 && decay < 1))
    throw UsageError("the weight average's decay must be in [0, 1) (0.999: about the last 1,000 steps)");
  const torch::NoGradGuard no_grad;
  network_ = state_dict(module);
  for (const auto& [name, tensor] : network_) weights_.emplace_back(name, tensor.detach().clone());
}

void WeightAverage::update() {
  const torch::NoGradGuard no_grad;
  const double n = static_cast<double>(updates_);
  const double d = std::min(decay_, (1 + n) / (10 + n));
  for (size_t i = 0; i < network_.size(); ++i) {
    const torch::Tensor& weight = network_[i].second;
    torch::Tensor& average = weights_[i].second;
    if (average.is_floating_point())
      average.mul_(d).add_(weight.detach(), 1 - d);
    else
      average.copy_(weight.detach());
  }
  ++updates_;
}

void WeightAverage::restore(const NamedTensors& weights, int64_t updates, const std::string& source) {
  const auto refuse = [&] {
    throw ModelFileError(source, "damaged checkpoint: its weight average does not fit the network");
  };
  if (weights.size() != weights_.size() || updates < 0) refuse();
  std::map<std::string, const torch::Tensor*> saved;
  for (const auto& [name, tensor] : weights) saved[name] = &tensor;
  for (const auto& [name, average] : weights_) {
    const auto found = saved.find(name);
    if (found == saved.end() || found->second->sizes() != average.sizes() ||
        found->second->scalar_type() != average.scalar_type())
      refuse();
  }
  const torch::NoGradGuard no_grad;
  for (auto& [name, average] : weights_) average.copy_(*saved.at(name));
  updates_ = updates;
}

}  // namespace pneumoscan
