#pragma once
// Running a classifier over a cached data set without gradients: the
// validation pass of training and the pass of evaluation.
#include <c10/core/Device.h>

#include <optional>
#include <vector>

#include "data/loader.h"
#include "models/classifier.h"

namespace pneumoscan {

struct CachePredictions {
  std::vector<float> probabilities;        // P(pneumonia), in cache order
  std::vector<int> labels;                 // true binary labels (0 NORMAL, 1 any pneumonia), in cache order
  std::vector<int> class_labels;           // true class indices (the cache's labels)
  std::vector<float> class_probabilities;  // [n, num_classes] row-major
  int num_classes = 2;
  std::vector<float> logits;  // [n, logit_width] row-major: the network's output (its temperature applied)
  int logit_width = 0;
  double loss = 0;  // class-weighted mean loss when weights were given
};

// The cache's labels are class indices of the network's class list (binary
// caches: 0/1). `class_weights`, when given, has one weight per class.
CachePredictions predict_cache(ClassifierImpl& net, const ImageCache& cache, int batch_size,
                               const std::optional<std::vector<double>>& class_weights = std::nullopt,
                               c10::Device device = c10::Device(c10::kCPU), bool channels_last = true);

}  // namespace pneumoscan
