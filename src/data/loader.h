#pragma once
// Feeding images to a network: a decoded, resized in-memory cache (decoded
// once, in parallel) and a stream of batches assembled in a background thread
// while the previous batch trains.
#include <torch/types.h>

#include <functional>
#include <future>
#include <memory>
#include <opencv2/core.hpp>
#include <optional>
#include <string>
#include <vector>

#include "data/augment.h"
#include "data/sample.h"
#include "image/preprocess.h"

namespace pneumoscan {

class ImageCache {
 public:
  // Called as files are decoded: (done, total).
  using Progress = std::function<void(size_t, size_t)>;

  // Decodes every sample with `threads` threads (0 = one per core). Files that
  // cannot be decoded are left out and listed in failures() as "path: problem".
  // With a prepared-image store (data/image_store.h: $PNEUMOSCAN_CACHE_DIR)
  // the images come from its memory-mapped pack when it holds these files,
  // and a decoded set is written there for the next run.
  ImageCache(const std::vector<Sample>& samples, const PreprocessConfig& config, int threads = 0,
             const Progress& progress = nullptr);

  size_t size() const { return images_.size(); }
  const cv::Mat& image(size_t i) const { return images_[i]; }  // CV_8U, input_size^2
  const Sample& sample(size_t i) const { return samples_[i]; }
  const std::vector<Sample>& samples() const { return samples_; }
  std::vector<int> labels() const;
  const std::vector<std::string>& failures() const { return failures_; }
  const PreprocessConfig& config() const { return config_; }

  // A copy whose images are `transform(image)` (CV_8U, same size): shifted
  // copies of a validation set without decoding it again.
  ImageCache transformed(const std::function<cv::Mat(const cv::Mat&)>& transform) const;
  // A cache of already prepared model-size CV_8U images (tests, tools).
  ImageCache(std::vector<Sample> samples, std::vector<cv::Mat> images, const PreprocessConfig& config);

 private:
  PreprocessConfig config_;
  std::vector<Sample> samples_;
  std::vector<cv::Mat> images_;
  std::vector<std::string> failures_;
  std::shared_ptr<const void> backing_;  // the store's memory map, when the images are views into it
};

struct BatchOptions {
  int batch_size = 32;
  bool shuffle = false;
  bool augment = false;
  AugmentConfig augment_config;
  uint64_t seed = 42;
  bool channels_last = true;
  // Empty: an epoch visits every entry once. Else one non-negative weight per
  // cache entry: an epoch is as many draws with replacement, each entry drawn
  // in proportion to its weight (balanced sampling: 1 / its class's count).
  std::vector<double> sample_weights;
};

struct Batch {
  torch::Tensor images;         // float [B, C, S, S]
  torch::Tensor labels;         // int64 [B]
  std::vector<size_t> indices;  // into the cache
};

// Assembles one batch from cache entries `indices` (augmenting with the
// per-(seed, epoch, index) generator when asked).
Batch make_batch(const ImageCache& cache, const std::vector<size_t>& indices, const BatchOptions& options,
                 int epoch);

// The order in which an epoch visits `size` cache entries: 0..size-1,
// shuffled when options.shuffle by a generator seeded with (seed, epoch), so
// every process that asks gets the same order; with sample weights, `size`
// weighted draws from that generator instead. Throws UsageError when the
// weights do not fit (count, a negative or non-finite one, all zero).
std::vector<size_t> epoch_order(size_t size, const BatchOptions& options, int epoch);

// One over the count of each entry's class among `labels` (class indices):
// the sample weights of balanced sampling.
std::vector<double> balanced_sample_weights(const std::vector<int>& labels);

// One epoch's batches in order, the next one prepared while the caller works.
class BatchStream {
 public:
  // Batches over epoch_order(cache.size(), options, epoch).
  BatchStream(const ImageCache& cache, const BatchOptions& options, int epoch);
  // Batches over `order` (indices into the cache; a rank's shard, distributed/sampler.h).
  BatchStream(const ImageCache& cache, const BatchOptions& options, int epoch, std::vector<size_t> order);
  ~BatchStream();
  std::optional<Batch> next();
  size_t num_batches() const { return batches_.size(); }

 private:
  void prefetch();
  const ImageCache& cache_;
  BatchOptions options_;
  int epoch_;
  std::vector<std::vector<size_t>> batches_;
  size_t next_index_ = 0;
  std::future<Batch> pending_;
};

}  // namespace pneumoscan
