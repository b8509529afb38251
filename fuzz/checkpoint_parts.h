#pragma once
// The checkpoint the `checkpoint` target reads and fuzz_seeds writes as its
// seed: two layers' weights, a snapshot of them and Adam's state,
// in the layout the generative trainers use (generative/checkpoint.h; the
// classifier's checkpoints hold the same kinds of record).
#include <torch/torch.h>

#include "generative/checkpoint.h"

namespace pneumoscan::fuzz {

// Linear layers, not a Sequential: clang's and GCC's construction vtables for
// torch::nn::SequentialImpl differ, and the GCC-built library's references to
// its own then fail to link.
struct SmallCheckpoint {
  torch::nn::Linear first{3, 2};
  torch::nn::Linear second{2, 1};
  NamedTensors best;
  torch::optim::Adam adam{parameters(), torch::optim::AdamOptions(0.01)};
  nlohmann::json settings = {{"seed", 1}};

  std::vector<torch::Tensor> parameters() const {
    std::vector<torch::Tensor> all = first->parameters();
    for (const auto& p : second->parameters()) all.push_back(p);
    return all;
  }
  torch::Tensor forward(const torch::Tensor& x) { return second(first(x)); }
  // A step, as resuming takes next.
  void step() {
    adam.zero_grad();
    forward(torch::ones({1, 3})).sum().backward();
    adam.step();
  }
  CheckpointParts parts() {
    return {
        {{"first", first.ptr().get()}, {"second", second.ptr().get()}}, {{"best", &best}}, {{"adam", &adam}}};
  }
};

}  // namespace pneumoscan::fuzz
