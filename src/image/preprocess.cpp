#include "image/preprocess.h"

#include <cmath>
#include <cstring>

#include <nlohmann/json.hpp>
#include <opencv2/imgproc.hpp>

#include "core/errors.h"

namespace pneumoscan {

std::string to_string(Normalization normalization) {
  switch (normalization) {
    case Normalization::kImageZScore: return "image_zscore";
    case Normalization::kEqualizeZScore: return "equalize_zscore";
    case Normalization::kFixed: return "fixed";
  }
  return "?";
}

Normalization normalization_from_string(const std::string& name) {
  if (name == "image_zscore") return Normalization::kImageZScore;
  if (name == "equalize_zscore") return Normalization::kEqualizeZScore;
  if (name == "fixed") return Normalization::kFixed;
  throw UsageError("unknown normalization '" + name + "' (image_zscore, equalize_zscore, fixed)");
}

nlohmann::json to_json(const PreprocessConfig& config) {
  return {{"input_size", config.input_size},
          {"channels", config.channels},
          {"resize", "stretch_area"},
          {"normalization", to_string(config.normalization)},
          {"mean", config.mean},
          {"std", config.std}};
}

PreprocessConfig preprocess_from_json(const nlohmann::json& json, const std::string& source) {
  PreprocessConfig config;
  try {
    config.input_size = json.at("input_size").get<int>();
    config.channels = json.at("channels").get<int>();
    if (json.at("resize").get<std::string>() != "stretch_area")
      throw ModelFileError(source, "unsupported resize mode '" + json.at("resize").get<std::string>() + "'");
    config.normalization = normalization_from_string(json.at("normalization").get<std::string>());
    config.mean = json.at("mean").get<float>();
    config.std = json.at("std").get<float>();
  } catch (const nlohmann::json::exception& e) {
    throw ModelFileError(source, std::string("bad preprocessing metadata: ") + e.what());
  } catch (const UsageError& e) {
    throw ModelFileError(source, e.what());
  }
  if (config.input_size < 16 || config.input_size > 4096)
    throw ModelFileError(source, "bad input_size " + std::to_string(config.input_size));
  if (config.channels != 1 && config.channels != 3)
    throw ModelFileError(source, "bad channel count " + std::to_string(config.channels));
  if (!(config.std > 0)) throw ModelFileError(source, "normalisation std must be positive");
  return config;
}

cv::Mat resize_for_model(const Image& image, const PreprocessConfig& config) {
  cv::Mat u8 = to_u8(image);
  if (u8.cols == config.input_size && u8.rows == config.input_size) return u8;
  cv::Mat resized;
  const bool shrinking = u8.cols > config.input_size || u8.rows > config.input_size;
  cv::resize(u8, resized, cv::Size(config.input_size, config.input_size), 0, 0,
             shrinking ? cv::INTER_AREA : cv::INTER_LINEAR);
  return resized;
}

void normalize_into(const cv::Mat& image, const PreprocessConfig& config, float* out) {
  CV_Assert(image.rows == config.input_size && image.cols == config.input_size && image.channels() == 1);
  cv::Mat source = image;
  if (config.normalization == Normalization::kEqualizeZScore) {
    cv::Mat u8;
    if (image.type() == CV_8U) u8 = image;
    else image.convertTo(u8, CV_8U, 255.0);
    cv::equalizeHist(u8, source);
  }
  const int plane = config.input_size * config.input_size;
  cv::Mat plane_out(config.input_size, config.input_size, CV_32F, out);
  const double scale = source.type() == CV_8U ? 1.0 / 255.0 : 1.0;
  if (config.normalization == Normalization::kFixed) {
    source.convertTo(plane_out, CV_32F, scale / config.std, -config.mean / config.std);
  } else {
    cv::Scalar mean, stddev;
    cv::meanStdDev(source, mean, stddev);
    const double sd = std::max(stddev[0] * scale, 1e-3);  // a blank image stays finite
    source.convertTo(plane_out, CV_32F, scale / sd, -mean[0] * scale / sd);
  }
  for (int c = 1; c < config.channels; ++c) std::memcpy(out + c * plane, out, sizeof(float) * plane);
}

}  // namespace pneumoscan
