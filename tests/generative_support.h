#pragma once
// Tiny labelled images on disk for the generative tests (autoencoder, DCGAN,
// latent CNN, synthetic data): fast, and independent of ../shared.
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <string>
#include <vector>

#include "data/sample.h"
#include "test_support.h"

namespace pneumoscan::test {

// `count` 64x64 gray PNGs in `dir` (two dark "lungs" in a brighter body,
// randomised, a dense bright patch on pneumonia ones), alternating NORMAL and
// PNEUMONIA, one patient each; `split` stored in every sample.
inline std::vector<Sample> tiny_xrays(const TempDir& dir, int count, const std::string& prefix = "img",
                                      const std::string& split = "") {
  cv::RNG rng(static_cast<uint64_t>(count) * 7919 + prefix.size());
  std::vector<Sample> samples;
  for (int i = 0; i < count; ++i) {
    // As a radiograph looks (and the input gate expects): dark aerated lungs in a brighter body.
    cv::Mat image(64, 64, CV_8UC1, cv::Scalar(120));
    const int shift = rng.uniform(-3, 4);
    cv::ellipse(image, {20 + shift, 32}, {9, 18}, 0, 0, 360, cv::Scalar(30 + rng.uniform(0, 40)), -1);
    cv::ellipse(image, {44 + shift, 32}, {9, 18}, 0, 0, 360, cv::Scalar(30 + rng.uniform(0, 40)), -1);
    const int label = i % 2 == 0 ? kNormal : kPneumonia;
    if (label == kPneumonia) cv::circle(image, {44 + shift, 38}, 6, cv::Scalar(200), -1);
    cv::Mat noise(64, 64, CV_8UC1);
    rng.fill(noise, cv::RNG::UNIFORM, 0, 12);
    image += noise;
    Sample s;
    s.path = dir / (prefix + "-" + std::to_string(i) + ".png");
    cv::imwrite(s.path, image);
    s.label = label;
    s.patient = prefix + std::to_string(i);
    s.split = split;
    samples.push_back(s);
  }
  return samples;
}

}  // namespace pneumoscan::test
