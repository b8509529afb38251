#include "data/augment.h"

#include <cmath>
#include <nlohmann/json.hpp>
#include <opencv2/imgproc.hpp>

#include "core/errors.h"

namespace pneumoscan {

nlohmann::json to_json(const AugmentConfig& c) {
  nlohmann::json json = {{"enabled", c.enabled},
                         {"max_rotation_deg", c.max_rotation_deg},
                         {"max_shift", c.max_shift},
                         {"max_zoom", c.max_zoom},
                         {"max_brightness", c.max_brightness},
                         {"max_contrast", c.max_contrast},
                         {"max_gamma", c.max_gamma},
                         {"blur_probability", c.blur_probability},
                         {"max_noise", c.max_noise},
                         {"horizontal_flip", c.horizontal_flip}};
  // Only when used, so files written before it existed still describe the same settings.
  if (c.vendor_processing_probability > 0)
    json["vendor_processing_probability"] = c.vendor_processing_probability;
  return json;
}

AugmentConfig augment_preset(const std::string& name) {
  AugmentConfig config;
  if (name == "standard") return config;
  if (name == "none") {
    config.enabled = false;
    return config;
  }
  if (name != "strong") throw UsageError("unknown augmentation '" + name + "' (standard, strong or none)");
  // Photometric only: the acquisition-shift proxies showed vendor processing and
  // tone curves, not geometry, moving the verdicts (docs/generalisation.md).
  config.max_brightness = 0.15;
  config.max_contrast = 0.40;
  config.max_gamma = 0.60;
  config.blur_probability = 0.30;
  config.max_noise = 0.04;
  config.vendor_processing_probability = 0.5;
  return config;
}

namespace {

// One of three vendor-style processings of an 8-bit image, drawn from `rng`.
cv::Mat vendor_processing(const cv::Mat& image_u8, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> prob(0.0, 1.0);
  const double kind = prob(rng), strength = prob(rng);
  cv::Mat out;
  if (kind < 1.0 / 3) {
    cv::createCLAHE(1.0 + 3.0 * strength, cv::Size(8, 8))->apply(image_u8, out);
  } else if (kind < 2.0 / 3) {
    cv::equalizeHist(image_u8, out);
    const double share = 0.25 + 0.75 * strength;
    cv::addWeighted(out, share, image_u8, 1.0 - share, 0.0, out);
  } else {
    const double sigma = 1.0 + 2.0 * prob(rng), amount = 0.5 + strength;
    cv::Mat blurred;
    cv::GaussianBlur(image_u8, blurred, cv::Size(0, 0), sigma);
    cv::addWeighted(image_u8, 1.0 + amount, blurred, -amount, 0.0, out);  // saturates to [0, 255]
  }
  return out;
}

}  // namespace

std::mt19937_64 augment_rng(uint64_t seed, int epoch, size_t sample_index) {
  std::seed_seq sequence{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32),
                         static_cast<uint32_t>(epoch), static_cast<uint32_t>(sample_index),
                         static_cast<uint32_t>(sample_index >> 32)};
  return std::mt19937_64(sequence);
}

cv::Mat augment(const cv::Mat& image_u8, const AugmentConfig& c, std::mt19937_64& rng) {
  CV_Assert(image_u8.type() == CV_8UC1);
  std::uniform_real_distribution<double> unit(-1.0, 1.0);
  std::uniform_real_distribution<double> prob(0.0, 1.0);
  const bool vendor =
      c.enabled && c.vendor_processing_probability > 0 && prob(rng) < c.vendor_processing_probability;
  cv::Mat image;
  (vendor ? vendor_processing(image_u8, rng) : image_u8).convertTo(image, CV_32F, 1.0 / 255.0);
  if (!c.enabled) return image;

  // Geometry: one affine warp for rotation, zoom and shift.
  const double side = image.cols;
  const double angle = c.max_rotation_deg * unit(rng);
  const double zoom = 1.0 + c.max_zoom * unit(rng);
  cv::Mat warp = cv::getRotationMatrix2D(cv::Point2f(image.cols / 2.0f, image.rows / 2.0f), angle, zoom);
  warp.at<double>(0, 2) += c.max_shift * side * unit(rng);
  warp.at<double>(1, 2) += c.max_shift * image.rows * unit(rng);
  cv::Mat warped;
  cv::warpAffine(image, warped, warp, image.size(), cv::INTER_LINEAR, cv::BORDER_CONSTANT, cv::Scalar(0));
  image = warped;
  if (c.horizontal_flip && prob(rng) < 0.5) cv::flip(image, image, 1);

  // Acquisition: tone curve, contrast, exposure.
  const double gamma_magnitude = 1.0 + c.max_gamma * std::abs(unit(rng));
  const double gamma = prob(rng) < 0.5 ? gamma_magnitude : 1.0 / gamma_magnitude;
  cv::pow(cv::max(image, 0.0), gamma, image);
  const double contrast = 1.0 + c.max_contrast * unit(rng);
  const double brightness = c.max_brightness * unit(rng);
  const double mean = cv::mean(image)[0];
  image.convertTo(image, CV_32F, contrast, (1.0 - contrast) * mean + brightness);

  // Sharpness and noise differ between detectors.
  if (prob(rng) < c.blur_probability) {
    const double sigma = 0.3 + 0.9 * prob(rng);
    cv::GaussianBlur(image, image, cv::Size(0, 0), sigma);
  }
  const double noise_sigma = c.max_noise * prob(rng);
  if (noise_sigma > 0) {
    cv::Mat noise(image.size(), CV_32F);
    cv::theRNG().state = rng();  // OpenCV's generator, seeded from ours for determinism
    cv::randn(noise, 0.0, noise_sigma);
    image += noise;
  }
  cv::min(cv::max(image, 0.0), 1.0, image);
  return image;
}

}  // namespace pneumoscan
