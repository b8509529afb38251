#include "case/gate.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "core/text.h"
#include "image/validity.h"

namespace pneumoscan {
namespace {

bool contains(const std::vector<std::string>& values, const std::string& value) {
  return std::find(values.begin(), values.end(), value) != values.end();
}

// A DICOM code string as printable text of at most 16 characters (its VR's limit).
std::string shown(const std::string& value) {
  std::string out;
  for (char c : value.substr(0, 16)) out += (c >= 32 && c < 127) ? c : '?';
  return out;
}

bool is_lateral(const std::string& view) {
  return view == "LL" || view == "RL" || view == "LATERAL" || view == "LAT" || view == "LLD" || view == "RLD";
}

}  // namespace

PixelLayout measure_pixel_layout(const Image& image) {
  cv::Mat small;
  cv::resize(image.pixels, small, cv::Size(256, 256), 0, 0, cv::INTER_AREA);
  cv::Scalar mean, spread;
  cv::meanStdDev(small, mean, spread);
  cv::Mat blurred;
  cv::GaussianBlur(small, blurred, cv::Size(0, 0), 3.0);
  cv::Scalar blurred_mean, blurred_spread;
  cv::meanStdDev(blurred, blurred_mean, blurred_spread);
  PixelLayout layout;
  const double variance = spread[0] * spread[0];
  layout.structure = variance > 0 ? blurred_spread[0] * blurred_spread[0] / variance : 0.0;
  const auto region_mean = [&](double x0, double x1, double y0, double y1) {
    const cv::Rect r(static_cast<int>(x0 * 256), static_cast<int>(y0 * 256),
                     static_cast<int>((x1 - x0) * 256), static_cast<int>((y1 - y0) * 256));
    return cv::mean(small(r))[0];
  };
  const double lungs = (region_mean(0.15, 0.38, 0.30, 0.70) + region_mean(0.62, 0.85, 0.30, 0.70)) / 2;
  layout.mediastinum_contrast = region_mean(0.44, 0.56, 0.30, 0.80) - lungs;
  return layout;
}

std::string to_string(GateStatus status) {
  switch (status) {
    case GateStatus::kOk:
      return "ok";
    case GateStatus::kWarn:
      return "warn";
    case GateStatus::kRefuse:
      return "refuse";
  }
  return "ok";
}

void GateResult::add(std::string code, GateStatus severity, std::string message) {
  reasons.push_back({std::move(code), severity, std::move(message)});
  status = std::max(status, severity);
}

bool GateResult::has(const std::string& code) const {
  return std::any_of(reasons.begin(), reasons.end(), [&](const GateReason& r) { return r.code == code; });
}

std::string GateResult::summary() const {
  std::string out;
  for (const GateReason& r : reasons) out += (out.empty() ? "" : "; ") + r.message;
  return out;
}

nlohmann::json to_json(const GateResult& gate) {
  nlohmann::json reasons = nlohmann::json::array();
  for (const GateReason& r : gate.reasons)
    reasons.push_back({{"code", r.code}, {"severity", to_string(r.severity)}, {"message", r.message}});
  nlohmann::json json = {{"status", to_string(gate.status)}, {"reasons", reasons}};
  if (gate.ood_score) {
    json["ood_score"] = *gate.ood_score;
    json["ood_limit"] = gate.ood_limit;
  }
  return json;
}

const std::vector<std::string>& default_xray_modalities() {
  static const std::vector<std::string> modalities = {"CR", "DX", "DR", "RG"};
  return modalities;
}

void check_dicom_attributes(const Image& image, const Population& population, GateResult& gate) {
  if (!image.dicom) return;
  const DicomInfo& info = *image.dicom;
  const std::vector<std::string>& modalities =
      population.modalities.empty() ? default_xray_modalities() : population.modalities;
  const std::string modality = uppercase(info.modality);
  if (!modality.empty() && !contains(modalities, modality)) {
    const bool xray = contains(default_xray_modalities(), modality);
    gate.add("modality", GateStatus::kRefuse,
             xray ? "modality " + shown(modality) + " is not one the model was trained on (" +
                        join(modalities, ", ") + ")"
                  : "modality " + shown(modality) + " is not a radiograph (expected " +
                        join(modalities, ", ") + ")");
  }
  const std::string view = uppercase(info.view_position);
  if (!view.empty()) {
    if (is_lateral(view))
      gate.add("view", GateStatus::kRefuse,
               "lateral view (" + shown(view) + "): the model reads frontal chest X-rays only");
    else if (!population.views.empty() && !contains(population.views, view))
      gate.add("view", GateStatus::kRefuse,
               "view " + shown(view) + " is not one the model was trained on (" +
                   join(population.views, ", ") + ")");
  }
  const std::string body_part = uppercase(info.body_part);
  if (!body_part.empty() && body_part.find("CHEST") == std::string::npos &&
      body_part.find("THORAX") == std::string::npos && !contains(population.body_parts, body_part))
    gate.add("body_part", GateStatus::kRefuse, "body part " + shown(body_part) + " is not the chest");
  if (!info.age_years && population.age_years)
    gate.add("age_unknown", GateStatus::kWarn,
             "the study states no patient age; the model was trained on ages " +
                 std::to_string(population.age_years->first) + "-" +
                 std::to_string(population.age_years->second));
  if (info.age_years && population.age_years) {
    const auto [low, high] = *population.age_years;
    if (*info.age_years < low || *info.age_years > high)
      gate.add("age", GateStatus::kRefuse,
               "patient age " + std::to_string(*info.age_years) +
                   " years is outside the model's population (ages " + std::to_string(low) + "-" +
                   std::to_string(high) + ")");
  }
}

void check_pixels(const Image& image, GateResult& gate) {
  if (image.pixels.empty()) {
    gate.add("blank", GateStatus::kRefuse, "the image has no pixels");
    return;
  }
  for (const PixelProblem& problem : undiagnosable_pixels(image))
    gate.add(problem.code, GateStatus::kRefuse, "the " + problem.message);
  cv::Scalar mean, spread;
  cv::meanStdDev(image.pixels, mean, spread);
  if (!gate.has("blank") && spread[0] < kMinPixelSpread)
    gate.add("low_contrast", GateStatus::kRefuse,
             format_string("the image is nearly flat (pixel standard deviation %.3f, under %.2f)", spread[0],
                           kMinPixelSpread));
  if (!gate.has("blank") && !gate.has("too_small")) {
    const PixelLayout layout = measure_pixel_layout(image);
    if (layout.structure < kMinStructure)
      gate.add(
          "noise", GateStatus::kRefuse,
          format_string(
              "the image is mostly fine-grained noise or text (structure %.2f, under %.2f), not a picture of "
              "anatomy",
              layout.structure, kMinStructure));
    else if (layout.mediastinum_contrast < kMinMediastinumContrast)
      gate.add("inverted", GateStatus::kRefuse,
               format_string(
                   "the middle of the chest is darker than the lung fields (%.2f): the image looks inverted "
                   "(a negative) or is not an upright frontal chest X-ray",
                   layout.mediastinum_contrast));
  }
  if (image.colourfulness >= kRefuseColourfulness)
    gate.add("colour", GateStatus::kRefuse,
             format_string("a colour picture (colourfulness %.0f), not a radiograph", image.colourfulness));
}

}  // namespace pneumoscan
