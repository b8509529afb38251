#include "model_file/integrity.h"

#include <torch/torch.h>

#include <algorithm>
#include <cstring>

#include "core/errors.h"
#include "core/hash.h"
#include "core/text.h"

namespace pneumoscan {
namespace {

// A float is NaN or infinite exactly when its exponent bits are all ones. One
// branch-free pass the compiler vectorises: ~10x faster at load than
// torch::isfinite(t).all(), which allocates a mask per weight.
bool all_finite(const float* values, size_t n) {
  uint32_t non_finite = 0;
  for (size_t i = 0; i < n; ++i) {
    uint32_t bits;
    std::memcpy(&bits, values + i, sizeof bits);
    non_finite |= static_cast<uint32_t>((bits & 0x7f800000u) == 0x7f800000u);
  }
  return non_finite == 0;
}

}  // namespace

std::string weights_checksum(const std::string& metadata_json,
                             const std::vector<std::pair<std::string, torch::Tensor>>& tensors) {
  std::vector<const std::pair<std::string, torch::Tensor>*> sorted;
  for (const auto& entry : tensors) sorted.push_back(&entry);
  std::sort(sorted.begin(), sorted.end(), [](const auto* a, const auto* b) { return a->first < b->first; });
  uint64_t hash = fnv1a64(metadata_json.data(), metadata_json.size());
  for (const auto* entry : sorted) {
    const torch::Tensor t = entry->second.contiguous();
    const std::string dtype = std::string(c10::toString(t.scalar_type()));
    hash = fnv1a64(entry->first.data(), entry->first.size() + 1, hash);  // with the NUL: "a"+"bc" != "ab"+"c"
    hash = fnv1a64(dtype.data(), dtype.size() + 1, hash);
    for (int64_t size : t.sizes()) hash = fnv1a64(&size, sizeof size, hash);
    hash = fnv1a64(t.data_ptr(), t.nbytes(), hash);
  }
  return hex64(hash);
}

void check_weight_types(const std::string& path,
                        const std::vector<std::pair<std::string, torch::Tensor>>& tensors) {
  for (const auto& [name, t] : tensors) {
    if (!t.defined() || t.device() != torch::kCPU)
      throw ModelFileError(path, "weight " + quoted_excerpt(name) + " is damaged");
    // What save_model writes: float32 weights, int64 counters (BatchNorm's num_batches_tracked).
    if (t.scalar_type() != torch::kFloat32 && t.scalar_type() != torch::kInt64)
      throw ModelFileError(path, "weight " + quoted_excerpt(name) + " has type " +
                                     std::string(c10::toString(t.scalar_type())) +
                                     "; model files hold float32 and int64 only (damaged file)");
  }
}

void check_weights_finite(const std::string& path,
                          const std::vector<std::pair<std::string, torch::Tensor>>& tensors) {
  torch::NoGradGuard no_grad;
  for (const auto& [name, t] : tensors) {
    if (!t.is_floating_point() || t.numel() == 0) continue;
    const bool finite = t.scalar_type() == torch::kFloat32 && t.is_contiguous()
                            ? all_finite(t.data_ptr<float>(), static_cast<size_t>(t.numel()))
                            : torch::isfinite(t).all().item<bool>();
    if (!finite)
      throw ModelFileError(path, "weight " + quoted_excerpt(name) + " holds NaN or infinite values");
  }
}

}  // namespace pneumoscan
