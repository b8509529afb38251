#include "data/augment.h"

#include <cmath>

#include <nlohmann/json.hpp>
#include <opencv2/imgproc.hpp>

namespace pneumoscan {

nlohmann::json to_json(const AugmentConfig& c) {
  return {{"enabled", c.enabled},           {"max_rotation_deg", c.max_rotation_deg},
          {"max_shift", c.max_shift},       {"max_zoom", c.max_zoom},
          {"max_brightness", c.max_brightness}, {"max_contrast", c.max_contrast},
          {"max_gamma", c.max_gamma},       {"blur_probability", c.blur_probability},
          {"max_noise", c.max_noise},       {"horizontal_flip", c.horizontal_flip}};
}

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
  cv::Mat image;
  image_u8.convertTo(image, CV_32F, 1.0 / 255.0);
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
