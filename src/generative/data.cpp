#include "generative/data.h"

#include "core/errors.h"

namespace pneumoscan {

std::vector<Sample> samples_of_class(const std::vector<Sample>& samples, int label) {
  std::vector<Sample> selected;
  for (const auto& s : samples)
    if (s.label == label) selected.push_back(s);
  if (selected.empty())
    throw UsageError("no " + kClassNames.at(static_cast<size_t>(label)) + " images in the data");
  return selected;
}

BatchOptions plain_batches(int batch_size, bool shuffle, uint64_t seed) {
  BatchOptions options;
  options.batch_size = batch_size;
  options.shuffle = shuffle;
  options.seed = seed;
  options.channels_last = false;
  return options;
}

}  // namespace pneumoscan
