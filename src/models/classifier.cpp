#include "models/classifier.h"

#include <cmath>

#include <c10/util/Exception.h>
#include <torch/types.h>

namespace pneumoscan {

void ClassifierImpl::set_temperature(double temperature) {
  TORCH_CHECK(temperature > 0 && std::isfinite(temperature), "temperature must be positive, got ", temperature);
  temperature_ = temperature;
}

torch::Tensor apply_output_calibration(const torch::Tensor& raw, double temperature,
                                       const std::vector<double>& class_bias) {
  torch::Tensor out = temperature == 1.0 ? raw : raw / temperature;
  if (!class_bias.empty()) {
    TORCH_CHECK(out.dim() == 2 && out.size(1) == static_cast<int64_t>(class_bias.size()), "class bias of ",
                class_bias.size(), " values for logits ", out.sizes());
    out = out + torch::tensor(class_bias, out.options());
  }
  return out;
}

torch::Tensor ClassifierImpl::logits(const torch::Tensor& features) {
  return apply_output_calibration(forward_head(features), temperature_, class_bias_);
}

void check_image_batch(const torch::Tensor& x, int64_t channels, const char* module_name) {
  TORCH_CHECK(x.dim() == 4 && x.size(1) == channels, module_name, ": expected input [N, ", channels,
              ", H, W], got ", x.sizes());
}

void to_channels_last(torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  for (auto& p : module.parameters())
    if (p.dim() == 4) p.set_data(p.to(p.options(), false, true, torch::MemoryFormat::ChannelsLast));
  for (auto& b : module.buffers())
    if (b.dim() == 4) b.set_data(b.to(b.options(), false, true, torch::MemoryFormat::ChannelsLast));
}

int64_t count_parameters(torch::nn::Module& module) {
  int64_t total = 0;
  for (const auto& p : module.parameters()) total += p.numel();
  return total;
}

int64_t count_parameters_and_buffers(torch::nn::Module& module) {
  int64_t total = count_parameters(module);
  for (const auto& item : module.named_buffers())
    if (item.key().find("num_batches_tracked") == std::string::npos) total += item.value().numel();
  return total;
}

}  // namespace pneumoscan
