#pragma once
// Turning a decoded image into model input, identically for training and
// inference: the settings live in the model file, never on a command line.
#include <string>

#include <nlohmann/json_fwd.hpp>
#include <opencv2/core.hpp>

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
  float mean = 0.5f;  // kFixed only, in [0,1] pixel units
  float std = 0.25f;  // kFixed only
};

nlohmann::json to_json(const PreprocessConfig& config);
// Throws ModelFileError(source, ...) when a field is missing or invalid.
PreprocessConfig preprocess_from_json(const nlohmann::json& json, const std::string& source);

std::string to_string(Normalization normalization);
// Throws UsageError for an unknown name.
Normalization normalization_from_string(const std::string& name);

// Resizes (area interpolation) to input_size x input_size, 8-bit gray: the
// form the training cache keeps and inference passes through too.
cv::Mat resize_for_model(const Image& image, const PreprocessConfig& config);

// Normalises an 8-bit (CV_8U) or [0,1] float (CV_32F) input_size^2 image and
// writes channels * input_size^2 floats (CHW) to `out`.
void normalize_into(const cv::Mat& image, const PreprocessConfig& config, float* out);

}  // namespace pneumoscan
