#include "models/weights_hash.h"

#include "core/hash.h"
#include "models/state_dict.h"

namespace pneumoscan {

uint64_t hash_weights(torch::nn::Module& net, uint64_t hash) {
  for (const auto& [name, tensor] : state_dict(net)) {
    hash = fnv1a64(name.data(), name.size(), hash);
    const torch::Tensor values = tensor.detach().to(torch::kCPU, torch::kFloat32).contiguous();
    for (int64_t size : values.sizes()) hash = fnv1a64(&size, sizeof size, hash);
    hash = fnv1a64(values.data_ptr<float>(), values.numel() * sizeof(float), hash);
  }
  return hash;
}

}  // namespace pneumoscan
