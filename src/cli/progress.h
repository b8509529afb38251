#pragma once
// A one-line progress bar on stderr (only when it is a terminal): done/total,
// rate, ETA and a caller-supplied status such as the running loss.
#include <memory>
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

// One progress line per stage (embed_dataset's "decode" then "embed", ...); silent unless stderr is a
// terminal.
class StageBars {
 public:
  void operator()(const std::string& stage, size_t done, size_t total) {
    if (stage != stage_) {
      if (bar_) bar_->finish();
      stage_ = stage;
      bar_ = std::make_unique<ProgressBar>(stage, total);
    }
    bar_->update(done, done);
  }
  ~StageBars() {
    if (bar_) bar_->finish();
  }

 private:
  std::string stage_;
  std::unique_ptr<ProgressBar> bar_;
};

}  // namespace pneumoscan::cli
