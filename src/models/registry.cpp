#include "models/registry.h"

#include "core/errors.h"
#include "core/named.h"
#include "models/alexnet.h"
#include "models/densenet.h"
#include "models/efficientnet.h"
#include "models/googlenet.h"
#include "models/latent_cnn.h"
#include "models/mobilenet.h"
#include "models/resnet.h"
#include "models/small_cnn.h"
#include "models/vgg.h"

namespace pneumoscan {

namespace {
Classifier make_resnet(ResNetOptions options, const ModelSpec& spec) {
  options.in_channels = spec.in_channels;
  options.num_classes = spec.num_outputs;
  return std::make_shared<ResNetImpl>(options);
}

// Every zoo network's options carry in_channels and num_classes.
template <typename Net, typename Options>
Classifier make(Options options, const ModelSpec& spec) {
  options.in_channels = spec.in_channels;
  options.num_classes = spec.num_outputs;
  return std::make_shared<Net>(options);
}
// The seed study's networks, whose options carry the input size and an output count.
template <typename Net, typename Options>
Classifier make_sized(const ModelSpec& spec) {
  Options options;
  options.input_size = spec.input_size;
  options.in_channels = spec.in_channels;
  options.num_outputs = spec.num_outputs;
  return std::make_shared<Net>(options);
}
}  // namespace

const std::vector<ArchitectureInfo>& architectures() {
  static const std::vector<ArchitectureInfo> list = {
      {"small-cnn", "seed study's 5-block CNN (32-64-64-128-256), dense 512", 128, 1,
       [](const ModelSpec& s) { return make_sized<SmallCnnImpl, SmallCnnOptions>(s); }},
      {"latent-cnn", "seed study's CNN on autoencoder codes (the encoder included; train with --codes)", 224,
       1, [](const ModelSpec& s) { return make_sized<LatentCnnImpl, LatentCnnOptions>(s); }},
      {"resnet18", "ResNet-18 (torchvision layout)", 224, 2,
       [](const ModelSpec& s) { return make_resnet(resnet18_options(), s); }},
      {"resnet34", "ResNet-34 (torchvision layout)", 224, 2,
       [](const ModelSpec& s) { return make_resnet(resnet34_options(), s); }},
      {"resnet50", "ResNet-50 (torchvision layout, bottleneck blocks)", 224, 2,
       [](const ModelSpec& s) { return make_resnet(resnet50_options(), s); }},
      {"resnet50-v1", "ResNet-50 v1 stride placement (Caffe/Keras ImageNet weights; torchvision names)", 224,
       2, [](const ModelSpec& s) { return make_resnet(resnet50_v1_options(), s); }},
      {"alexnet", "AlexNet (torchvision layout)", 224, 2,
       [](const ModelSpec& s) { return make<AlexNetImpl>(alexnet_options(), s); }},
      {"alexnet-small", "seed study's reduced AlexNet (32-64-128 convs, dense 1024-512)", 224, 2,
       [](const ModelSpec& s) { return make<AlexNetImpl>(alexnet_small_options(), s); }},
      {"vgg16", "VGG-16 (torchvision layout)", 224, 2,
       [](const ModelSpec& s) { return make<VggImpl>(vgg16_options(false), s); }},
      {"vgg16-bn", "VGG-16 with BatchNorm (torchvision layout)", 224, 2,
       [](const ModelSpec& s) { return make<VggImpl>(vgg16_options(true), s); }},
      {"vgg19", "VGG-19 (torchvision layout)", 224, 2,
       [](const ModelSpec& s) { return make<VggImpl>(vgg19_options(false), s); }},
      {"vgg19-bn", "VGG-19 with BatchNorm (torchvision layout)", 224, 2,
       [](const ModelSpec& s) { return make<VggImpl>(vgg19_options(true), s); }},
      {"googlenet", "GoogLeNet / Inception v1 (torchvision layout, no aux heads)", 224, 2,
       [](const ModelSpec& s) { return make<GoogLeNetImpl>(GoogLeNetOptions{}, s); }},
      {"densenet121", "DenseNet-121 (torchvision layout)", 224, 2,
       [](const ModelSpec& s) { return make<DenseNetImpl>(densenet121_options(), s); }},
      {"mobilenet-v1", "MobileNet V1 (paper, width 1.0)", 224, 2,
       [](const ModelSpec& s) { return make<MobileNetV1Impl>(MobileNetV1Options{}, s); }},
      {"mobilenet-v2", "MobileNet V2 (torchvision layout)", 224, 2,
       [](const ModelSpec& s) { return make<MobileNetV2Impl>(MobileNetV2Options{}, s); }},
      {"mobilenet-v2-avgmax", "MobileNet V2, head on average and max pooled features side by side", 224, 2,
       [](const ModelSpec& s) {
         MobileNetV2Options options;
         options.pooling = HeadPooling::kAverageAndMax;
         return make<MobileNetV2Impl>(options, s);
       }},
      {"efficientnet-b0", "EfficientNet-B0 (torchvision layout, no stochastic depth)", 224, 2,
       [](const ModelSpec& s) { return make<EfficientNetImpl>(efficientnet_b0_options(), s); }},
  };
  return list;
}

const ArchitectureInfo& find_architecture(const std::string& name) {
  return find_named(architectures(), name, "architecture");
}

ModelSpec complete_spec(ModelSpec spec) {
  const ArchitectureInfo& info = find_architecture(spec.architecture);
  if (spec.input_size <= 0) spec.input_size = info.default_input_size;
  if (spec.num_outputs <= 0) spec.num_outputs = info.default_num_outputs;
  if (spec.in_channels != 1 && spec.in_channels != 3)
    throw UsageError("in_channels must be 1 or 3, got " + std::to_string(spec.in_channels));
  if (spec.input_size > kMaxInputSize)
    throw UsageError("input size must be at most " + std::to_string(kMaxInputSize) + " px, got " +
                     std::to_string(spec.input_size));
  return spec;
}

Classifier create_model(const ModelSpec& spec_in) {
  const ModelSpec spec = complete_spec(spec_in);
  try {
    return find_architecture(spec.architecture).create(spec);
  } catch (const c10::Error& e) {
    // The families' own checks already name themselves ("small-cnn: input size ...").
    const std::string problem = e.what_without_backtrace();
    const std::string prefix = spec.architecture + ": ";
    throw UsageError(problem.rfind(prefix, 0) == 0 ? problem : prefix + problem);
  }
}

}  // namespace pneumoscan
