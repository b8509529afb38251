#pragma once
// Choosing the images a generative trainer learns from.
#include <vector>

#include "data/loader.h"
#include "data/sample.h"

namespace pneumoscan {

// The samples of one class (kNormal or kPneumonia); UsageError when there are none.
std::vector<Sample> samples_of_class(const std::vector<Sample>& samples, int label);

// Batches as the generative networks take them: the standard layout, no
// augmentation; shuffled per (seed, epoch) when `shuffle`, in cache order otherwise.
BatchOptions plain_batches(int batch_size, bool shuffle, uint64_t seed = 0);

}  // namespace pneumoscan
