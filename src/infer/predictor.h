#pragma once
// Diagnosis of single images with a model file: decode -> the model's own
// preprocessing -> P(pneumonia) -> label at the model's threshold.
#include <torch/types.h>

#include <string>
#include <vector>

#include "core/precision.h"
#include "image/image.h"
#include "model_file/model_file.h"

namespace pneumoscan {

struct Prediction {
  std::string path;
  double probability = 0;  // P(pneumonia)
  std::string label;       // "PNEUMONIA" when probability >= threshold, else "NORMAL"
  double threshold = 0.5;
  // Models with pneumonia types (class list NORMAL, BACTERIAL, VIRAL): the
  // probability of each type (they sum to `probability`) and the most
  // probable one; empty for binary models.
  std::vector<std::pair<std::string, double>> type_probabilities;
  std::string pneumonia_type;
  double milliseconds = 0;  // decode + preprocess + inference
};

struct PredictorOptions {
  c10::Device device = c10::Device(c10::kCPU);
  // Also take model_fingerprint() of the weights before they are folded
  // (case indexes need it; it reads every weight once).
  bool with_fingerprint = false;
  // The number format of inference (core/precision.h); probabilities are
  // float32 either way.
  Precision precision = Precision::kFloat32;
};

// Makes `net` what inference runs: on `device`, in eval mode, channels-last,
// BatchNorm folded into the convolutions (in float32), then converted to
// `precision`. Every inference path (Predictor, evaluate, bench) goes through
// it. Never train or save the network afterwards. Throws UsageError for a
// precision the device cannot run (check_precision_supported).
void prepare_for_inference(ClassifierImpl& net, Precision precision, c10::Device device);

class Predictor {
 public:
  // Throws ModelFileError for a file that cannot be used, UsageError for a
  // precision the device cannot run (check_precision_supported).
  explicit Predictor(const std::string& model_path, PredictorOptions options = {});
  explicit Predictor(LoadedModel model, PredictorOptions options = {});

  const ModelMetadata& metadata() const { return model_.metadata; }
  // The whole loaded file: checksum, integrity warning, out-of-distribution reference.
  const LoadedModel& model() const { return model_; }
  // The network, in eval mode, channels-last, with BatchNorm folded into the
  // convolutions (models/batch_norm_fold.h), in the options' precision: for
  // inference only, never to be trained or saved. Give it inputs through
  // input_tensor/input_batch/prepare_input.
  ClassifierImpl& net() { return *model_.net; }
  Precision precision() const { return options_.precision; }
  // model_fingerprint() of the weights as the file holds them (before
  // folding). Throws std::logic_error unless constructed with_fingerprint.
  const std::string& fingerprint() const;

  // [1, C, S, S] model input for one decoded image, on the model's device,
  // in its compute type, channels-last.
  torch::Tensor input_tensor(const Image& image) const;
  // [N, C, S, S] for several.
  torch::Tensor input_batch(const std::vector<Image>& images) const;
  // An already preprocessed float [N, C, S, S] batch made ready the same way.
  torch::Tensor prepare_input(const torch::Tensor& images) const;

  std::vector<double> probabilities(const std::vector<Image>& images);
  // For a ready [N, C, S, S] batch of input_tensor()/input_batch() outputs.
  std::vector<double> probabilities(const torch::Tensor& inputs);
  // Class probabilities [N, K] on the CPU (binary sigmoid models: [N, 2]).
  torch::Tensor class_probabilities(const torch::Tensor& inputs);
  double probability(const Image& image) { return probabilities({image}).front(); }
  // "PNEUMONIA" at or above the model's threshold, else "NORMAL" (whatever the class list).
  std::string label_for(double probability) const;
  // Fills probability, label, threshold and the type fields from one row of class probabilities.
  void fill_prediction(const float* class_probabilities, Prediction& prediction) const;

  // Classifies a decoded image; `path` is recorded in the result and names the
  // image in errors. Throws InputError for images check_diagnosable refuses.
  Prediction predict_image(const Image& image, const std::string& path);
  // Decodes and classifies a file; throws InputError naming it when unreadable.
  Prediction predict_file(const std::string& path);

 private:
  LoadedModel model_;
  std::string fingerprint_;
  PredictorOptions options_;
};

// The bundled model used when --model is absent: $PNEUMOSCAN_MODEL, else
// models/default.psmodel next to the executable's parent folder, else in
// the source tree. Throws UsageError when none exists.
std::string default_model_path();

// `given` when it is not empty, else default_model_path(): what every front
// end's --model option means.
std::string model_or_default(const std::string& given);

}  // namespace pneumoscan
