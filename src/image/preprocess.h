#pragma once
// Turning a decoded image into model input, identically for training and
// inference: the settings live in the model file, never on a command line.
#include <nlohmann/json_fwd.hpp>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "image/image.h"

namespace pneumoscan {

enum class Normalization {
  kImageZScore,     // (x - mean(x)) / std(x) per image: removes exposure/contrast shifts
  kEqualizeZScore,  // histogram equalisation, then per-image z-score: also removes tone-curve shifts
  kFixed,           // (x - mean) / std with the constants below (pretrained networks)
};

struct PreprocessConfig {
  int input_size = 128;  // square side; images are stretched, as the training data were
  int channels = 1;      // 1 = gray; 3 = gray repeated (ImageNet networks)
  Normalization normalization = Normalization::kImageZScore;
  // kFixed only, in [0,1] pixel units: one value for every channel, or one per
  // channel (channels == 3 only): channel c of the repeated gray image x gets
  // (x - mean[c]) / std[c], which is exactly what an RGB ImageNet network's
  // per-channel normalisation gives for a gray pixel (R = G = B = x).
  // Per-channel values need channels == 3: a 1-channel stem cannot reproduce
  // them exactly (see models/pretrained.h), so that combination is refused.
  std::vector<float> mean = {0.5f};
  std::vector<float> std = {0.25f};
};

// Why `mean`/`std` do not suit `channels` (sizes 1 or 3 = channels, finite
// means, positive stds), or "" when they do.
std::string fixed_normalization_problem(const std::vector<float>& mean, const std::vector<float>& std,
                                        int channels);

// Named kFixed constants: "imagenet" = torchvision's ImageNet RGB mean
// (0.485, 0.456, 0.406) and std (0.229, 0.224, 0.225), for 3 channels;
// "inception" = 0.5 / 0.5, i.e. [-1, 1] (TF-slim MobileNet/Inception weights).
// Throws UsageError for another name.
struct FixedNormalization {
  std::vector<float> mean, std;
};
FixedNormalization normalization_preset(const std::string& name);

// "0.5" or "0.485,0.456,0.406" -> 1 or 3 numbers; UsageError naming `what`.
std::vector<float> parse_channel_values(const std::string& text, const std::string& what);

// One number when one value serves every channel (the form older model files
// and checkpoints have), a list when per channel.
nlohmann::json channel_values_json(const std::vector<float>& values);

// "mean"/"std" as channel_values_json.
nlohmann::json to_json(const PreprocessConfig& config);
// Throws ModelFileError(source, ...) when a field is missing or invalid.
PreprocessConfig preprocess_from_json(const nlohmann::json& json, const std::string& source);
// True when `config` needs a reader that knows per-channel normalisation
// (model format 2).
bool has_per_channel_normalization(const PreprocessConfig& config);

std::string to_string(Normalization normalization);
// Throws UsageError for an unknown name.
Normalization normalization_from_string(const std::string& name);

// Resizes (area interpolation) to input_size x input_size, 8-bit gray: the
// form the training cache keeps and inference passes through too.
cv::Mat resize_for_model(const Image& image, const PreprocessConfig& config);

// x -> 255 (x / 255)^gamma on an 8-bit image (a lookup table): tone curves
// for acquisition shifts and test-time augmentation.
cv::Mat apply_gamma_u8(const cv::Mat& image, double gamma);

// Normalises an 8-bit (CV_8U) or [0,1] float (CV_32F) input_size^2 image and
// writes channels * input_size^2 floats (CHW) to `out`.
void normalize_into(const cv::Mat& image, const PreprocessConfig& config, float* out);

}  // namespace pneumoscan
