#include "case/uncertainty.h"

#include <algorithm>
#include <cmath>

#include "core/errors.h"

namespace pneumoscan {

Uncertainty uncertainty_interval(const std::vector<double>& probabilities, double threshold,
                                 std::string method) {
  if (probabilities.empty()) throw UsageError("uncertainty of no probabilities");
  Uncertainty u;
  u.low = *std::min_element(probabilities.begin(), probabilities.end());
  u.high = *std::max_element(probabilities.begin(), probabilities.end());
  u.uncertain = u.low < threshold && u.high >= threshold;
  u.method = std::move(method);
  u.samples = static_cast<int>(probabilities.size());
  return u;
}

}  // namespace pneumoscan
