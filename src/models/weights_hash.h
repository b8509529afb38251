#pragma once
// A fingerprint of a network's weights that does not depend on where or how
// they are laid out: every parameter and buffer by name, in float32 and the
// standard layout, so channels-last copies on the CPU or a GPU hash the same
// as the file's weights. Identifies "the same network" for case indexes
// (search/embedding.h) and autoencoder code files (generative/codes.h).
#include <torch/nn/module.h>

#include <cstdint>

namespace pneumoscan {

// FNV-1a 64 (core/hash.h) continued from `hash` over each tensor's name, sizes and float32 values.
uint64_t hash_weights(torch::nn::Module& net, uint64_t hash);

}  // namespace pneumoscan
