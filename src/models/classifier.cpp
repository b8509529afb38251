#include "models/classifier.h"

#include <c10/util/Exception.h>
#include <torch/nn/modules/conv.h>
#include <torch/types.h>

#include <cmath>

namespace pneumoscan {

void ClassifierImpl::set_temperature(double temperature) {
  TORCH_CHECK(temperature > 0 && std::isfinite(temperature), "temperature must be positive, got ",
              temperature);
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
  // Calibration and the probabilities after it in float32: bfloat16 keeps
  // 3 significant digits, too few for a temperature or a threshold.
  return apply_output_calibration(forward_head(features).to(torch::kFloat32), temperature_, class_bias_);
}

void ClassifierImpl::set_compute_type(c10::ScalarType type) {
  TORCH_CHECK(c10::isFloatingType(type), "set_compute_type: ", type, " is not a floating-point type");
  torch::NoGradGuard no_grad;
  for (auto& p : parameters())
    if (p.is_floating_point()) p.set_data(p.to(type));  // keeps the memory format
  for (auto& b : buffers())
    if (b.is_floating_point()) b.set_data(b.to(type));
  compute_type_ = type;
  for (const auto& module : modules(/*include_self=*/false)) {
    if (auto* classifier = dynamic_cast<ClassifierImpl*>(module.get())) classifier->compute_type_ = type;
    // A folded BatchNorm's shift lives in the convolution's bias member, which
    // is not a registered parameter (models/batch_norm_fold.cpp).
    if (auto* conv = dynamic_cast<torch::nn::Conv2dImpl*>(module.get());
        conv != nullptr && conv->bias.defined())
      conv->bias = conv->bias.to(type);
  }
}

torch::Tensor ClassifierImpl::prepare_input(const torch::Tensor& images, c10::Device device) const {
  return images.to(device, compute_type_).contiguous(torch::MemoryFormat::ChannelsLast);
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
