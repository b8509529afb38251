#pragma once
// Identifies "the same network": what a case index or a cache records about
// the model it was built with.
#include <torch/nn/module.h>

#include <string>

#include "model_file/model_file.h"

namespace pneumoscan {

// FNV-1a over the architecture, the preprocessing and every weight (names,
// shapes and values, layout-independent: models/weights_hash.h), as 16 hex
// digits. Of the weights as stored: take it before fold_batch_norm.
std::string model_fingerprint(const ModelMetadata& metadata, torch::nn::Module& net);

}  // namespace pneumoscan
