#pragma once
// A network's weights as a flat list of named tensors (torchvision-style
// names: "layer1.0.conv1.weight"), the common currency of model files,
// checkpoints, pretrained imports and fingerprints.
#include <torch/nn/module.h>

#include <string>
#include <utility>
#include <vector>

namespace pneumoscan {

using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

// The named parameters and buffers of a module (the tensors themselves, not copies).
NamedTensors state_dict(torch::nn::Module& module);

// Copies `tensors` into the module's parameters and buffers by name. Every
// module entry must be present with the same shape; extra entries are an
// error. Throws ModelFileError naming `source`.
void load_state_dict(torch::nn::Module& module, const NamedTensors& tensors, const std::string& source);

}  // namespace pneumoscan
