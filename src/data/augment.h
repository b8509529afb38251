#pragma once
// Training-time augmentation of the cached 8-bit model-size images:
// geometry (rotation, shift, zoom) and acquisition (exposure, contrast,
// tone curve, blur, noise, and in the strong preset the image processing of
// another vendor). Horizontal flips are off by default: chest X-rays have a
// side (the heart is on the left).
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <opencv2/core.hpp>
#include <random>
#include <string>

namespace pneumoscan {

struct AugmentConfig {
  bool enabled = true;
  double max_rotation_deg = 10.0;
  double max_shift = 0.08;        // fraction of the side
  double max_zoom = 0.10;         // scale in [1 - z, 1 + z]
  double max_brightness = 0.10;   // additive, [0,1] units
  double max_contrast = 0.25;     // multiplicative around the mean, [1 - c, 1 + c]
  double max_gamma = 0.35;        // gamma in [1/(1+g), 1+g]
  double blur_probability = 0.2;  // Gaussian blur with sigma in [0.3, 1.2] px
  double max_noise = 0.02;        // Gaussian noise sigma in [0, max]
  bool horizontal_flip = false;
  // Share of images given one vendor-style processing, drawn at random before
  // anything else: CLAHE (clip 1-4, 8x8 tiles), global histogram equalisation
  // blended in by 25-100%, or unsharp masking (amount 0.5-1.5, sigma 1-3 px).
  // 0 draws nothing, so other settings give the same images as without it.
  double vendor_processing_probability = 0.0;
};

// The named settings `train --augment` offers: "standard" (the defaults
// above), "strong" (wider tone curve, contrast, exposure, blur and noise, and
// vendor processing for half the images; the same geometry) or "none"
// (enabled = false). Throws UsageError for another name.
AugmentConfig augment_preset(const std::string& name);

nlohmann::json to_json(const AugmentConfig& config);

// Returns a CV_32F image in [0, 1] of the same size. Deterministic for a given rng state.
cv::Mat augment(const cv::Mat& image_u8, const AugmentConfig& config, std::mt19937_64& rng);

// A per-(seed, epoch, sample) generator, so results do not depend on threads or batch order.
std::mt19937_64 augment_rng(uint64_t seed, int epoch, size_t sample_index);

}  // namespace pneumoscan
