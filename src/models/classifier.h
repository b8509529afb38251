#pragma once
// The interface every network of the zoo implements: an image batch
// [N, C, H, W] -> logits [N, K]. It is split at the last convolutional feature
// map so that Grad-CAM and embedding search can reach it without hooks.
#include <torch/nn/module.h>
#include <torch/types.h>

#include <memory>
#include <string>
#include <vector>

namespace pneumoscan {

class ClassifierImpl : public torch::nn::Module {
 public:
  // Last convolutional feature map [N, C', h, w].
  virtual torch::Tensor forward_features(torch::Tensor images) = 0;
  // Logits [N, K] from forward_features' output.
  virtual torch::Tensor forward_head(torch::Tensor features) = 0;
  // The parameters of the layers forward_head runs (the final classifier / fc
  // layers): what stays trainable under `--freeze features`.
  virtual std::vector<torch::Tensor> head_parameters() = 0;

  // Output calibration fitted on validation after training and stored in the
  // model file (eval/calibration.h): logits / temperature (Guo et al., 2017)
  // + a per-output bias that undoes the class weighting's prior shift
  // (empty = none). forward() and logits() apply it; they are what every
  // consumer of probabilities calls, so a calibrated model is calibrated everywhere.
  void set_temperature(double temperature);
  // `class_bias`: empty or one value per output; throws c10::Error otherwise (checked at forward).
  void set_class_bias(std::vector<double> class_bias) { class_bias_ = std::move(class_bias); }
  double temperature() const { return temperature_; }
  const std::vector<double>& class_bias() const { return class_bias_; }
  // forward_head's output in float32 (whatever the compute type), calibrated.
  torch::Tensor logits(const torch::Tensor& features);
  torch::Tensor forward(torch::Tensor images) { return logits(forward_features(images.to(compute_type_))); }

  // The floating-point type the network computes in: float32, unless
  // set_compute_type() changed it for inference.
  c10::ScalarType compute_type() const { return compute_type_; }
  // Converts every floating-point parameter and buffer (this network's and
  // its member networks') to `type`, for inference only: call it after
  // fold_batch_norm (which works in float32), never before training or
  // saving (the file keeps float32). Feature maps are then in `type`;
  // logits() stays float32.
  void set_compute_type(c10::ScalarType type);
  // `images` as the network wants its input: on `device`, in its compute
  // type, channels-last (oneDNN's fast layout; a no-op when already so).
  torch::Tensor prepare_input(const torch::Tensor& images, c10::Device device) const;

 private:
  double temperature_ = 1.0;
  std::vector<double> class_bias_;
  c10::ScalarType compute_type_ = c10::kFloat;
};

using Classifier = std::shared_ptr<ClassifierImpl>;

// Eval mode (dropout off, BatchNorm on running statistics) for the guard's
// lifetime; the module's previous mode comes back afterwards, also when an
// exception leaves the scope.
class EvalModeGuard {
 public:
  explicit EvalModeGuard(torch::nn::Module& module) : module_(module), was_training_(module.is_training()) {
    module_.eval();
  }
  ~EvalModeGuard() { module_.train(was_training_); }
  EvalModeGuard(const EvalModeGuard&) = delete;
  EvalModeGuard& operator=(const EvalModeGuard&) = delete;

 private:
  torch::nn::Module& module_;
  bool was_training_;
};

// raw / temperature + class_bias (empty: none), as ClassifierImpl::logits
// applies it; calibration computes calibrated outputs from stored raw ones
// with the same function, so both agree to the last bit.
torch::Tensor apply_output_calibration(const torch::Tensor& raw, double temperature,
                                       const std::vector<double>& class_bias);

// Checks x is [N, channels, H, W] and names the module in the message (ggml's habit).
void check_image_batch(const torch::Tensor& x, int64_t channels, const char* module_name);

// Converts every 4-D parameter and buffer to channels-last in place (oneDNN's
// fast layout). A [C, 1, k, k] weight is already both layouts and would stay
// on the slow path, so the copy is forced.
void to_channels_last(torch::nn::Module& module);

// Number of trainable parameters, and of parameters + buffers (BatchNorm
// running statistics, as Keras counts them).
int64_t count_parameters(torch::nn::Module& module);
int64_t count_parameters_and_buffers(torch::nn::Module& module);

}  // namespace pneumoscan
