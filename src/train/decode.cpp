#include "train/decode.h"

#include "core/timing.h"

namespace pneumoscan {

ImageCache decode_for_training(const std::vector<Sample>& samples, const PreprocessConfig& preprocess,
                               int threads, const char* what, TrainObserver& observer) {
  const Stopwatch stopwatch;
  observer.on_decode_progress(what, 0, samples.size());
  ImageCache cache(samples, preprocess, threads,
                   [&](size_t done, size_t total) { observer.on_decode_progress(what, done, total); });
  observer.on_decoded(what, cache.size(), cache.failures(), stopwatch.seconds());
  return cache;
}

}  // namespace pneumoscan
