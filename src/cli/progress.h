#pragma once
// A one-line progress bar on stderr (only when it is a terminal): done/total,
// rate, ETA and a caller-supplied status such as the running loss.
#include <string>

#include "core/timing.h"

namespace pneumoscan::cli {

class ProgressBar {
 public:
  ProgressBar(std::string label, size_t total, bool enabled = true);
  // `units` is what `done` counts in rates (e.g. images when steps are batches).
  void update(size_t done, size_t units_done, const std::string& status = "");
  void finish();

 private:
  std::string label_;
  size_t total_;
  bool enabled_;
  Clock::time_point start_;
  Clock::time_point last_draw_;
};

}  // namespace pneumoscan::cli
