#include "generative/data.h"

#include "core/errors.h"

namespace pneumoscan {

std::vector<Sample> samples_of_class(const std::vector<Sample>& samples, int label) {
  std::vector<Sample> selected;
  for (const auto& s : samples)
    if (s.label == label) selected.push_back(s);
  if (selected.empty()) throw UsageError("no " + kClassNames.at(static_cast<size_t>(label)) + " images in the data");
  return selected;
}

}  // namespace pneumoscan
