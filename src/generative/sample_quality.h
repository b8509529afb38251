#pragma once
// How close a generator's samples come to real X-rays of its class, and
// whether they are copies (`pneumoscan gan evaluate`). All three measures
// compare pictures of the generator's size: real images are prepared exactly
// as training prepared them (resize_for_model at the generator's size) and
// both sides go through the same feature extractor.
//
// - Frechet distance (FID's formula) between the feature distributions, with
//   the same distance between two disjoint sets of real images beside it:
//   at a few hundred images the estimate is biased upwards, and the real-real
//   figure is the floor a perfect generator would reach at that count.
// - A two-sample classifier: logistic regression on the standardised features,
//   trained on half of each set and scored on the other half. 0.5 means the
//   samples cannot be told from real images; 1.0 means they always can.
// - Copies: each sample's nearest real (reference) image by cosine similarity
//   of features, against the same for held-out real images. A sample nearer a
//   reference image than any held-out real image is (max) is flagged.
#include <torch/types.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

namespace pneumoscan {

// 8-bit gray images (all one size) -> features [N, F] float32.
using FeatureExtractor = std::function<torch::Tensor(const std::vector<cv::Mat>& images)>;

// The ImageNet ResNet-50 (torchvision layout, v1 strides: ../shared/pretrained
// /resnet50_imagenet.pt): each image resized to 224 px (bilinear), repeated to
// RGB and normalised with ImageNet's mean/std, the last feature map
// global-average-pooled: [N, 2048]. Throws ModelFileError naming the file.
FeatureExtractor imagenet_resnet50_features(const std::string& weights_path, int batch_size = 16);

// ||mu_a - mu_b||^2 + tr(Ca + Cb - 2 (Ca^1/2 Cb Ca^1/2)^1/2), in float64.
// UsageError unless both have at least 2 rows and the same width.
double frechet_distance(const torch::Tensor& a, const torch::Tensor& b);

// Held-out accuracy of a logistic regression telling `a` from `b` (each split
// in halves by `seed`: trained on one half of each, scored on the other).
// UsageError unless each has at least 4 rows.
double two_sample_accuracy(const torch::Tensor& a, const torch::Tensor& b, uint64_t seed);

// For each row of `queries`, the row of `references` with the highest cosine
// similarity: {index, similarity}.
struct Nearest {
  std::vector<int64_t> index;
  std::vector<double> similarity;
};
Nearest nearest_by_cosine(const torch::Tensor& queries, const torch::Tensor& references);

struct SampleQuality {
  int64_t samples = 0, reference_images = 0, held_out_images = 0;
  double frechet = 0, frechet_real_floor = 0;  // samples vs reference; held-out vs reference
  double classifier_accuracy = 0;              // held-out real vs samples
  double sample_nearest_median = 0, held_out_nearest_median = 0, held_out_nearest_max = 0;
  int64_t possible_copies = 0;  // samples nearer a reference image than held_out_nearest_max
  // The samples nearest to a reference image, nearest first (at most 8).
  std::vector<int64_t> closest_samples, their_references;
  std::vector<double> closest_similarity;
};

// The fewest samples and real images measure_sample_quality accepts.
inline constexpr size_t kLeastSamples = 4, kLeastRealImages = 8;

// `real` is split (by `seed`) into reference and held-out halves.
// UsageError when either side is too small (kLeastSamples, kLeastRealImages).
SampleQuality measure_sample_quality(const std::vector<cv::Mat>& real, const std::vector<cv::Mat>& samples,
                                     const FeatureExtractor& features, uint64_t seed);

nlohmann::json to_json(const SampleQuality& quality);

}  // namespace pneumoscan
