#pragma once
// Weight initialisation rules of the model families (torchvision's, which
// differ per family), applied in one walk over the network's modules.
#include <torch/nn/module.h>

namespace pneumoscan {

enum class WeightInit {
  kKeep,                // LibTorch's default initialisation stays
  kKaimingFanOut,       // He normal, fan_out, ReLU gain
  kKaimingFanIn,        // He normal, fan_in, ReLU gain (torch's kaiming_normal_ defaults)
  kNormal001,           // normal(0, 0.01)
  kUniformOutFeatures,  // uniform(+-1/sqrt(out_features)) (Linear only; EfficientNet)
};

struct InitScheme {
  WeightInit conv = WeightInit::kKeep;    // Conv2d weights
  WeightInit linear = WeightInit::kKeep;  // Linear weights
  bool zero_conv_bias = false;            // Conv2d biases (where there are any) set to 0
  bool zero_linear_bias = false;          // Linear biases set to 0
  // BatchNorm2d: weight 1, bias 0 (every family that has BatchNorm does this).
};

// Initialises every Conv2d, BatchNorm2d and Linear below `net` (in
// registration order, so the random stream is the same as the families'
// own loops drew).
void init_weights(torch::nn::Module& net, const InitScheme& scheme);

}  // namespace pneumoscan
