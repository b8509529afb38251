#include "data/loader.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <random>

#include "core/errors.h"
#include "core/parallel.h"
#include "data/image_store.h"
#include "image/image.h"

namespace pneumoscan {

ImageCache::ImageCache(const std::vector<Sample>& samples, const PreprocessConfig& config, int threads,
                       const Progress& progress)
    : config_(config) {
  std::vector<cv::Mat> decoded(samples.size());
  std::vector<std::string> errors(samples.size());
  const std::string store = image_store_dir();
  if (std::optional<StoredImages> stored = load_stored_images(store, samples, config_)) {
    decoded = std::move(stored->images);
    errors = std::move(stored->failures);
    backing_ = std::move(stored->mapping);
    if (progress) progress(samples.size(), samples.size());
  } else {
    parallel_for(
        samples.size(), threads,
        [&](size_t i) {
          try {
            decoded[i] = resize_for_model(decode_image(samples[i].path), config_);
          } catch (const Error& e) {
            errors[i] = e.what();
          } catch (const std::exception& e) {
            errors[i] = samples[i].path + ": " + e.what();
          }
        },
        progress);
    store_images(store, samples, config_, decoded, errors);  // best effort; a no-op without a store
  }

  for (size_t i = 0; i < samples.size(); ++i) {
    if (!errors[i].empty()) {
      failures_.push_back(errors[i]);
      continue;
    }
    samples_.push_back(samples[i]);
    images_.push_back(std::move(decoded[i]));
  }
}

ImageCache::ImageCache(std::vector<Sample> samples, std::vector<cv::Mat> images,
                       const PreprocessConfig& config)
    : config_(config), samples_(std::move(samples)), images_(std::move(images)) {
  if (samples_.size() != images_.size()) throw UsageError("image cache: samples and images differ in number");
  for (const cv::Mat& image : images_)
    if (image.type() != CV_8UC1 || image.rows != config_.input_size || image.cols != config_.input_size)
      throw UsageError("image cache: every image must be 8-bit gray at the model's input size");
}

ImageCache ImageCache::transformed(const std::function<cv::Mat(const cv::Mat&)>& transform) const {
  std::vector<cv::Mat> images;
  images.reserve(images_.size());
  for (const cv::Mat& image : images_) images.push_back(transform(image));
  ImageCache copy(samples_, std::move(images), config_);
  copy.failures_ = failures_;
  return copy;
}

std::vector<int> ImageCache::labels() const {
  std::vector<int> labels;
  labels.reserve(samples_.size());
  for (const auto& s : samples_) labels.push_back(s.label);
  return labels;
}

Batch make_batch(const ImageCache& cache, const std::vector<size_t>& indices, const BatchOptions& options,
                 int epoch) {
  const PreprocessConfig& config = cache.config();
  const int64_t n = static_cast<int64_t>(indices.size());
  const int64_t side = config.input_size;
  Batch batch;
  batch.indices = indices;
  batch.images = torch::empty({n, config.channels, side, side}, torch::kFloat32);
  batch.labels = torch::empty({n}, torch::kInt64);
  float* images = batch.images.data_ptr<float>();
  int64_t* labels = batch.labels.data_ptr<int64_t>();
  const int64_t per_image = config.channels * side * side;
  for (int64_t b = 0; b < n; ++b) {
    const size_t index = indices[b];
    if (options.augment) {
      auto rng = augment_rng(options.seed, epoch, index);
      normalize_into(augment(cache.image(index), options.augment_config, rng), config,
                     images + b * per_image);
    } else {
      normalize_into(cache.image(index), config, images + b * per_image);
    }
    labels[b] = cache.sample(index).label;
  }
  if (options.channels_last) batch.images = batch.images.contiguous(torch::MemoryFormat::ChannelsLast);
  return batch;
}

std::vector<size_t> epoch_order(size_t size, const BatchOptions& options, int epoch) {
  std::mt19937_64 rng(options.seed * 1000003ull + static_cast<uint64_t>(epoch));
  std::vector<size_t> order(size);
  if (!options.sample_weights.empty()) {
    const std::vector<double>& weights = options.sample_weights;
    if (weights.size() != size)
      throw UsageError("sampling: " + std::to_string(weights.size()) + " weights for " +
                       std::to_string(size) + " images");
    double total = 0;
    for (double w : weights) {
      if (!(w >= 0 && std::isfinite(w))) throw UsageError("sampling: weights must be non-negative numbers");
      total += w;
    }
    if (!(total > 0)) throw UsageError("sampling: every weight is zero");
    std::discrete_distribution<size_t> draw(weights.begin(), weights.end());
    for (size_t& index : order) index = draw(rng);
    return order;
  }
  std::iota(order.begin(), order.end(), size_t{0});
  if (options.shuffle) std::shuffle(order.begin(), order.end(), rng);
  return order;
}

std::vector<double> balanced_sample_weights(const std::vector<int>& labels) {
  std::map<int, size_t> counts;
  for (int label : labels) ++counts[label];
  std::vector<double> weights;
  weights.reserve(labels.size());
  for (int label : labels) weights.push_back(1.0 / static_cast<double>(counts[label]));
  return weights;
}

BatchStream::BatchStream(const ImageCache& cache, const BatchOptions& options, int epoch)
    : BatchStream(cache, options, epoch, epoch_order(cache.size(), options, epoch)) {}

BatchStream::BatchStream(const ImageCache& cache, const BatchOptions& options, int epoch,
                         std::vector<size_t> order)
    : cache_(cache), options_(options), epoch_(epoch) {
  TORCH_CHECK(options.batch_size > 0, "batch size must be positive");
  for (size_t index : order)
    TORCH_CHECK(index < cache.size(), "batch order: index ", index, " outside the cache");
  for (size_t start = 0; start < order.size(); start += options.batch_size) {
    const size_t end = std::min(order.size(), start + options.batch_size);
    batches_.emplace_back(order.begin() + start, order.begin() + end);
  }
  prefetch();
}

BatchStream::~BatchStream() {
  if (pending_.valid()) pending_.wait();
}

void BatchStream::prefetch() {
  if (next_index_ >= batches_.size()) return;
  const std::vector<size_t>& indices = batches_[next_index_++];
  pending_ = std::async(std::launch::async,
                        [this, &indices] { return make_batch(cache_, indices, options_, epoch_); });
}

std::optional<Batch> BatchStream::next() {
  if (!pending_.valid()) return std::nullopt;
  Batch batch = pending_.get();
  prefetch();
  return batch;
}

}  // namespace pneumoscan
