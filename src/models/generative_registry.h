#pragma once
// The generative networks by name, beside the classifiers of models/registry.h:
// the seed study's autoencoder and the DCGAN's generator and discriminator.
// `pneumoscan models` lists them with their size, cost and speed; their model
// files (model_file/generative_file.h) store the options they are built from.
#include <torch/nn/module.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace pneumoscan {

struct GenerativeNetworkInfo {
  std::string name;
  std::string description;
  std::vector<int64_t> sizes;  // the image sides it is built at (the first is the default)
  std::string input;           // what one forward pass takes, for listings
  // A gray network for image side `size`; c10::Error or UsageError for a side it cannot take.
  std::function<std::shared_ptr<torch::nn::Module>(int64_t size)> create;
  // One forward pass of `net` (made by create at `size`) on a batch-1 probe input; its output.
  std::function<torch::Tensor(torch::nn::Module& net, int64_t size)> forward_probe;
};

// autoencoder, dcgan-generator, dcgan-discriminator.
const std::vector<GenerativeNetworkInfo>& generative_networks();

// Throws UsageError listing the known names when `name` is unknown.
const GenerativeNetworkInfo& find_generative_network(const std::string& name);

}  // namespace pneumoscan
