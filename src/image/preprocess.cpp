#include "image/preprocess.h"

#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>
#include <opencv2/imgproc.hpp>

#include "core/errors.h"

namespace pneumoscan {

std::string to_string(Normalization normalization) {
  switch (normalization) {
    case Normalization::kImageZScore:
      return "image_zscore";
    case Normalization::kEqualizeZScore:
      return "equalize_zscore";
    case Normalization::kFixed:
      return "fixed";
  }
  return "?";
}

Normalization normalization_from_string(const std::string& name) {
  if (name == "image_zscore") return Normalization::kImageZScore;
  if (name == "equalize_zscore") return Normalization::kEqualizeZScore;
  if (name == "fixed") return Normalization::kFixed;
  throw UsageError("unknown normalization '" + name + "' (image_zscore, equalize_zscore, fixed)");
}

std::string fixed_normalization_problem(const std::vector<float>& mean, const std::vector<float>& std,
                                        int channels) {
  for (const auto* values : {&mean, &std})
    if (values->size() != 1 && values->size() != 3)
      return "normalisation mean/std take 1 value or 3 (one per channel), not " +
             std::to_string(values->size());
  if ((mean.size() == 3 || std.size() == 3) && channels != 3)
    return "per-channel normalisation mean/std need 3 input channels (gray repeated), not " +
           std::to_string(channels);
  for (float m : mean)
    if (!std::isfinite(m)) return "normalisation mean must be a finite number";
  for (float s : std)
    if (!(s > 0) || !std::isfinite(s)) return "normalisation std must be positive";
  return "";
}

FixedNormalization normalization_preset(const std::string& name) {
  if (name == "imagenet") return {{0.485f, 0.456f, 0.406f}, {0.229f, 0.224f, 0.225f}};
  if (name == "inception") return {{0.5f}, {0.5f}};
  throw UsageError("unknown normalisation preset '" + name + "' (imagenet, inception)");
}

std::vector<float> parse_channel_values(const std::string& text, const std::string& what) {
  std::vector<float> values;
  size_t start = 0;
  while (true) {
    const size_t comma = text.find(',', start);
    const std::string item =
        text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    size_t used = 0;
    float value = 0;
    try {
      value = std::stof(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (item.empty() || used != item.size())
      throw UsageError(what + ": '" + text + "' is not 1 number or 3 comma-separated numbers");
    values.push_back(value);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (values.size() != 1 && values.size() != 3)
    throw UsageError(what + ": '" + text + "' has " + std::to_string(values.size()) + " numbers, not 1 or 3");
  return values;
}

bool has_per_channel_normalization(const PreprocessConfig& config) {
  return config.mean.size() > 1 || config.std.size() > 1;
}

nlohmann::json channel_values_json(const std::vector<float>& values) {
  return values.size() == 1 ? nlohmann::json(values[0]) : nlohmann::json(values);
}

namespace {
std::vector<float> channel_values_from_json(const nlohmann::json& json) {
  return json.is_array() ? json.get<std::vector<float>>() : std::vector<float>{json.get<float>()};
}
}  // namespace

nlohmann::json to_json(const PreprocessConfig& config) {
  return {{"input_size", config.input_size},
          {"channels", config.channels},
          {"resize", "stretch_area"},
          {"normalization", to_string(config.normalization)},
          {"mean", channel_values_json(config.mean)},
          {"std", channel_values_json(config.std)}};
}

PreprocessConfig preprocess_from_json(const nlohmann::json& json, const std::string& source) {
  PreprocessConfig config;
  try {
    config.input_size = json.at("input_size").get<int>();
    config.channels = json.at("channels").get<int>();
    if (json.at("resize").get<std::string>() != "stretch_area")
      throw ModelFileError(source, "unsupported resize mode '" + json.at("resize").get<std::string>() + "'");
    config.normalization = normalization_from_string(json.at("normalization").get<std::string>());
    config.mean = channel_values_from_json(json.at("mean"));
    config.std = channel_values_from_json(json.at("std"));
  } catch (const nlohmann::json::exception& e) {
    throw ModelFileError(source, std::string("bad preprocessing metadata: ") + e.what());
  } catch (const UsageError& e) {
    throw ModelFileError(source, e.what());
  }
  if (config.input_size < 16 || config.input_size > 4096)
    throw ModelFileError(source, "bad input_size " + std::to_string(config.input_size));
  if (config.channels != 1 && config.channels != 3)
    throw ModelFileError(source, "bad channel count " + std::to_string(config.channels));
  const std::string problem = fixed_normalization_problem(config.mean, config.std, config.channels);
  if (!problem.empty()) throw ModelFileError(source, problem);
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
    if (image.type() == CV_8U)
      u8 = image;
    else
      image.convertTo(u8, CV_8U, 255.0);
    // Into a new matrix: `source` still shares `image`'s pixels, which
    // equalizeHist would overwrite (a cache's images, or a read-only mapped store).
    cv::Mat equalized;
    cv::equalizeHist(u8, equalized);
    source = equalized;
  }
  const int plane = config.input_size * config.input_size;
  const double scale = source.type() == CV_8U ? 1.0 / 255.0 : 1.0;
  int written = 1;  // planes computed; the rest repeat plane 0
  if (config.normalization == Normalization::kFixed) {
    CV_Assert(fixed_normalization_problem(config.mean, config.std, config.channels).empty());
    written = has_per_channel_normalization(config) ? config.channels : 1;
    for (int c = 0; c < written; ++c) {
      const double m = config.mean[config.mean.size() == 1 ? 0 : c];
      const double s = config.std[config.std.size() == 1 ? 0 : c];
      cv::Mat plane_out(config.input_size, config.input_size, CV_32F, out + c * plane);
      source.convertTo(plane_out, CV_32F, scale / s, -m / s);
    }
  } else {
    cv::Mat plane_out(config.input_size, config.input_size, CV_32F, out);
    cv::Scalar mean, stddev;
    cv::meanStdDev(source, mean, stddev);
    const double sd = std::max(stddev[0] * scale, 1e-3);  // a blank image stays finite
    source.convertTo(plane_out, CV_32F, scale / sd, -mean[0] * scale / sd);
  }
  for (int c = written; c < config.channels; ++c) std::memcpy(out + c * plane, out, sizeof(float) * plane);
}

cv::Mat apply_gamma_u8(const cv::Mat& image, double gamma) {
  cv::Mat table(1, 256, CV_8U);
  for (int v = 0; v < 256; ++v)
    table.at<uint8_t>(v) = cv::saturate_cast<uint8_t>(255.0 * std::pow(v / 255.0, gamma));
  cv::Mat out;
  cv::LUT(image, table, out);
  return out;
}

}  // namespace pneumoscan
