#pragma once
// Choosing the images a generative trainer learns from.
#include <vector>

#include "data/sample.h"

namespace pneumoscan {

// The samples of one class (kNormal or kPneumonia); UsageError when there are none.
std::vector<Sample> samples_of_class(const std::vector<Sample>& samples, int label);

}  // namespace pneumoscan
