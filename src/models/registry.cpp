#include "models/registry.h"

#include "core/errors.h"
#include "models/resnet.h"
#include "models/small_cnn.h"

namespace pneumoscan {

namespace {
Classifier make_resnet(ResNetOptions options, const ModelSpec& spec) {
  options.in_channels = spec.in_channels;
  options.num_classes = spec.num_outputs;
  return std::make_shared<ResNetImpl>(options);
}
}  // namespace

const std::vector<ArchitectureInfo>& architectures() {
  static const std::vector<ArchitectureInfo> list = {
      {"small-cnn", "seed study's 5-block CNN (32-64-64-128-256), dense 512", 128, 1,
       [](const ModelSpec& s) -> Classifier {
         SmallCnnOptions options;
         options.input_size = s.input_size;
         options.in_channels = s.in_channels;
         options.num_outputs = s.num_outputs;
         return std::make_shared<SmallCnnImpl>(options);
       }},
      {"resnet18", "ResNet-18 (torchvision layout)", 224, 2,
       [](const ModelSpec& s) { return make_resnet(resnet18_options(), s); }},
      {"resnet34", "ResNet-34 (torchvision layout)", 224, 2,
       [](const ModelSpec& s) { return make_resnet(resnet34_options(), s); }},
      {"resnet50", "ResNet-50 (torchvision layout, bottleneck blocks)", 224, 2,
       [](const ModelSpec& s) { return make_resnet(resnet50_options(), s); }},
  };
  return list;
}

const ArchitectureInfo& find_architecture(const std::string& name) {
  std::string known;
  for (const auto& info : architectures()) {
    if (info.name == name) return info;
    known += (known.empty() ? "" : ", ") + info.name;
  }
  throw UsageError("unknown architecture '" + name + "' (known: " + known + ")");
}

ModelSpec complete_spec(ModelSpec spec) {
  const ArchitectureInfo& info = find_architecture(spec.architecture);
  if (spec.input_size <= 0) spec.input_size = info.default_input_size;
  if (spec.num_outputs <= 0) spec.num_outputs = info.default_num_outputs;
  if (spec.in_channels != 1 && spec.in_channels != 3)
    throw UsageError("in_channels must be 1 or 3, got " + std::to_string(spec.in_channels));
  return spec;
}

Classifier create_model(const ModelSpec& spec_in) {
  const ModelSpec spec = complete_spec(spec_in);
  try {
    return find_architecture(spec.architecture).create(spec);
  } catch (const c10::Error& e) {
    throw UsageError(spec.architecture + ": " + e.what_without_backtrace());
  }
}

}  // namespace pneumoscan
