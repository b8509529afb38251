#include "infer/predictor.h"

#include <torch/torch.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <stdexcept>

#include "core/errors.h"
#include "core/runtime.h"
#include "core/timing.h"
#include "data/sample.h"
#include "image/preprocess.h"
#include "model_file/fingerprint.h"
#include "models/batch_norm_fold.h"
#include "models/output.h"

namespace pneumoscan {
namespace fs = std::filesystem;

Predictor::Predictor(const std::string& model_path, PredictorOptions options)
    : Predictor(load_model(model_path, options.device), options) {}

void prepare_for_inference(ClassifierImpl& net, Precision precision, c10::Device device) {
  check_precision_supported(precision, device);
  net.to(device);
  net.eval();
  to_channels_last(net);
  fold_batch_norm(net);  // in float32, before any change of type
  if (precision != Precision::kFloat32) net.set_compute_type(scalar_type(precision));
}

Predictor::Predictor(LoadedModel model, PredictorOptions options)
    : model_(std::move(model)), options_(options) {
  // The fingerprint describes the weights as the file holds them: before folding.
  if (options_.with_fingerprint) fingerprint_ = model_fingerprint(model_.metadata, *model_.net);
  prepare_for_inference(*model_.net, options_.precision, options_.device);
}

const std::string& Predictor::fingerprint() const {
  if (fingerprint_.empty())
    throw std::logic_error("Predictor::fingerprint: constructed without with_fingerprint");
  return fingerprint_;
}

torch::Tensor Predictor::input_batch(const std::vector<Image>& images) const {
  const PreprocessConfig& config = model_.metadata.preprocess;
  const int64_t side = config.input_size;
  torch::Tensor batch =
      torch::empty({static_cast<int64_t>(images.size()), config.channels, side, side}, torch::kFloat32);
  const int64_t per_image = config.channels * side * side;
  for (size_t i = 0; i < images.size(); ++i)
    normalize_into(resize_for_model(images[i], config), config, batch.data_ptr<float>() + i * per_image);
  return prepare_input(batch);
}

torch::Tensor Predictor::prepare_input(const torch::Tensor& images) const {
  return model_.net->prepare_input(images, options_.device);
}

torch::Tensor Predictor::input_tensor(const Image& image) const { return input_batch({image}); }

std::vector<double> Predictor::probabilities(const std::vector<Image>& images) {
  if (images.empty()) return {};
  return probabilities(input_batch(images));
}

std::vector<double> Predictor::probabilities(const torch::Tensor& inputs) {
  c10::InferenceMode inference;
  const torch::Tensor probability =
      pneumonia_probability(model_.net->forward(prepare_input(inputs))).to(torch::kCPU).contiguous();
  const float* p = probability.data_ptr<float>();
  return std::vector<double>(p, p + probability.numel());
}

torch::Tensor Predictor::class_probabilities(const torch::Tensor& inputs) {
  c10::InferenceMode inference;
  return pneumoscan::class_probabilities(model_.net->forward(prepare_input(inputs)))
      .to(torch::kCPU)
      .contiguous();
}

std::string Predictor::label_for(double probability) const {
  return probability >= model_.metadata.threshold ? kClassNames[kPneumonia] : kClassNames[kNormal];
}

void Predictor::fill_prediction(const float* p, Prediction& prediction) const {
  const auto& names = model_.metadata.class_names;
  // As pneumonia_probability computes it (float), so every path gives the same figure.
  prediction.probability = names.size() == 2 ? p[1] : static_cast<float>(1.0f - p[0]);
  prediction.label = label_for(prediction.probability);
  prediction.threshold = model_.metadata.threshold;
  prediction.type_probabilities.clear();
  prediction.pneumonia_type.clear();
  if (names.size() <= 2) return;
  size_t best = 1;
  for (size_t c = 1; c < names.size(); ++c) {
    prediction.type_probabilities.emplace_back(names[c], p[c]);
    if (p[c] > p[best]) best = c;
  }
  prediction.pneumonia_type = names[best];
}

Prediction Predictor::predict_file(const std::string& path) {
  const Stopwatch stopwatch;
  Prediction prediction = predict_image(decode_image(path), path);
  prediction.milliseconds = stopwatch.milliseconds();
  return prediction;
}

Prediction Predictor::predict_image(const Image& image, const std::string& path) {
  const Stopwatch stopwatch;
  check_diagnosable(image, path);
  Prediction prediction;
  prediction.path = path;
  const torch::Tensor classes = class_probabilities(input_tensor(image));
  fill_prediction(classes.data_ptr<float>(), prediction);
  prediction.milliseconds = stopwatch.milliseconds();
  return prediction;
}

std::string default_model_path() {
  if (const char* env = std::getenv("PNEUMOSCAN_MODEL"); env != nullptr && *env != '\0') return env;
  std::vector<fs::path> candidates;
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    candidates.push_back(exe.parent_path().parent_path() / "models" / "default.psmodel");
    candidates.push_back(exe.parent_path() / "models" / "default.psmodel");
  }
  candidates.push_back(fs::path(source_dir()) / "models" / "default.psmodel");
  for (const auto& candidate : candidates)
    if (fs::exists(candidate)) return candidate.string();
  throw UsageError("no default model found (looked for models/default.psmodel); pass --model");
}

std::string model_or_default(const std::string& given) {
  return given.empty() ? default_model_path() : given;
}

}  // namespace pneumoscan
