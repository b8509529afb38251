#pragma once
// Diagnosis of single images with a model file: decode -> the model's own
// preprocessing -> P(pneumonia) -> label at the model's threshold.
#include <torch/types.h>

#include <string>
#include <vector>

#include "image/image.h"
#include "model_file/model_file.h"

namespace pneumoscan {

struct Prediction {
  std::string path;
  double probability = 0;  // P(pneumonia)
  std::string label;       // "PNEUMONIA" when probability >= threshold, else "NORMAL"
  double threshold = 0.5;
  double milliseconds = 0;  // decode + preprocess + inference
};

class Predictor {
 public:
  explicit Predictor(const std::string& model_path, c10::Device device = c10::Device(c10::kCPU));
  explicit Predictor(LoadedModel model, c10::Device device = c10::Device(c10::kCPU));

  const ModelMetadata& metadata() const { return model_.metadata; }
  ClassifierImpl& net() { return *model_.net; }

  // [1, C, S, S] model input for one decoded image, on the model's device.
  torch::Tensor input_tensor(const Image& image) const;
  // [N, C, S, S] for several.
  torch::Tensor input_batch(const std::vector<Image>& images) const;

  std::vector<double> probabilities(const std::vector<Image>& images);
  // For a ready [N, C, S, S] batch of input_tensor()/input_batch() outputs.
  std::vector<double> probabilities(const torch::Tensor& inputs);
  double probability(const Image& image) { return probabilities({image}).front(); }
  std::string label_for(double probability) const;

  // Classifies a decoded image; `path` is recorded in the result and names the
  // image in errors. Throws InputError for images check_diagnosable refuses.
  Prediction predict_image(const Image& image, const std::string& path);
  // Decodes and classifies a file; throws InputError naming it when unreadable.
  Prediction predict_file(const std::string& path);

 private:
  LoadedModel model_;
  c10::Device device_;
};

// The bundled model used when --model is absent: $PNEUMOSCAN_MODEL, else
// models/default.psmodel next to the executable's parent folder, else in
// the source tree. Throws UsageError when none exists.
std::string default_model_path();

}  // namespace pneumoscan
