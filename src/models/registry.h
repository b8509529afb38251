#pragma once
// Architectures by name: `create_model({"resnet18", 224, 1, 2})`.
#include <functional>
#include <string>
#include <vector>

#include "models/classifier.h"

namespace pneumoscan {

// What is needed to build a network; stored in every model file.
struct ModelSpec {
  std::string architecture;
  int64_t input_size = 0;  // 0 = the architecture's default
  int64_t in_channels = 1;
  int64_t num_outputs = 0;  // 0 = the architecture's default (1 = sigmoid, >=2 = softmax)
};

struct ArchitectureInfo {
  std::string name;
  std::string description;
  int64_t default_input_size;
  int64_t default_num_outputs;
  std::function<Classifier(const ModelSpec&)> create;
};

const std::vector<ArchitectureInfo>& architectures();

// Throws UsageError listing the known names when `name` is unknown.
const ArchitectureInfo& find_architecture(const std::string& name);

// The largest input side a network may be built for. A number in a model
// file decides how much memory building takes (small-cnn's dense layer grows
// with the square of the side: at 4096 px it is 8.6 GB), so it is bounded
// before anything is allocated; the zoo's largest use is 288 px.
inline constexpr int64_t kMaxInputSize = 1024;

// Fills the defaults of `spec` from its architecture. Throws UsageError for
// an unknown architecture, in_channels other than 1 or 3, or an input side
// over kMaxInputSize.
ModelSpec complete_spec(ModelSpec spec);

Classifier create_model(const ModelSpec& spec);

}  // namespace pneumoscan
