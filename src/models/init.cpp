#include "models/init.h"

#include <torch/torch.h>

#include <cmath>

namespace pneumoscan {
namespace nn = torch::nn;
namespace {

void init_tensor(torch::Tensor& weight, WeightInit rule, int64_t out_features) {
  switch (rule) {
    case WeightInit::kKeep:
      break;
    case WeightInit::kKaimingFanOut:
      nn::init::kaiming_normal_(weight, 0.0, torch::kFanOut, torch::kReLU);
      break;
    case WeightInit::kKaimingFanIn:
      nn::init::kaiming_normal_(weight);
      break;
    case WeightInit::kNormal001:
      nn::init::normal_(weight, 0.0, 0.01);
      break;
    case WeightInit::kUniformOutFeatures: {
      const double range = 1.0 / std::sqrt(static_cast<double>(out_features));
      nn::init::uniform_(weight, -range, range);
      break;
    }
  }
}

}  // namespace

void init_weights(nn::Module& net, const InitScheme& scheme) {
  for (auto& module : net.modules(/*include_self=*/false)) {
    if (auto* conv = module->as<nn::Conv2d>()) {
      init_tensor(conv->weight, scheme.conv, conv->options.out_channels());
      if (scheme.zero_conv_bias && conv->options.bias()) nn::init::zeros_(conv->bias);
    } else if (auto* bn = module->as<nn::BatchNorm2d>()) {
      nn::init::ones_(bn->weight);
      nn::init::zeros_(bn->bias);
    } else if (auto* linear = module->as<nn::Linear>()) {
      init_tensor(linear->weight, scheme.linear, linear->options.out_features());
      if (scheme.zero_linear_bias) nn::init::zeros_(linear->bias);
    }
  }
}

}  // namespace pneumoscan
