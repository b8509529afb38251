#pragma once
// Running a classifier over a cached data set without gradients: the
// validation pass of training and the pass of evaluation.
#include <array>
#include <optional>
#include <vector>

#include <c10/core/Device.h>

#include "data/loader.h"
#include "models/classifier.h"

namespace pneumoscan {

struct CachePredictions {
  std::vector<float> probabilities;  // P(pneumonia), in cache order
  std::vector<int> labels;           // true labels, in cache order
  double loss = 0;                   // class-weighted mean loss when weights were given
};

CachePredictions predict_cache(ClassifierImpl& net, const ImageCache& cache, int batch_size,
                               const std::optional<std::array<double, 2>>& class_weights = std::nullopt,
                               c10::Device device = c10::Device(c10::kCPU), bool channels_last = true);

}  // namespace pneumoscan
