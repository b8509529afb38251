#include "models/state_dict.h"

#include <torch/torch.h>

#include <map>
#include <sstream>

#include "core/errors.h"

namespace pneumoscan {

NamedTensors state_dict(torch::nn::Module& module) {
  NamedTensors entries;
  for (const auto& item : module.named_parameters()) entries.emplace_back(item.key(), item.value());
  for (const auto& item : module.named_buffers()) entries.emplace_back(item.key(), item.value());
  return entries;
}

void load_state_dict(torch::nn::Module& module, const NamedTensors& tensors, const std::string& source) {
  std::map<std::string, torch::Tensor> given(tensors.begin(), tensors.end());
  torch::NoGradGuard no_grad;
  for (auto& [name, target] : state_dict(module)) {
    auto found = given.find(name);
    if (found == given.end()) throw ModelFileError(source, "weights lack '" + name + "'");
    if (found->second.sizes() != target.sizes()) {
      std::ostringstream message;
      message << "weight '" << name << "' has shape " << found->second.sizes() << ", the network expects "
              << target.sizes();
      throw ModelFileError(source, message.str());
    }
    target.copy_(found->second);
    given.erase(found);
  }
  if (!given.empty())
    throw ModelFileError(source, "unexpected weight '" + given.begin()->first + "' (" +
                                     std::to_string(given.size()) + " not used by the network)");
}

}  // namespace pneumoscan
