#pragma once
// The runs under a log folder, read from their event files as they grow, for
// the training page (`pneumoscan board`). A run is any folder at most three
// levels below LOGDIR (or LOGDIR itself) holding event files; its name is the
// path relative to LOGDIR. What is kept: every scalar point, the latest image,
// text and histogram per tag. Memory is bounded: at most `max_points` scalar
// points in all (more are counted, not kept) and the latest image per tag.
// Thread-safe.
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "monitor/event_reader.h"

namespace pneumoscan {

class RunStore {
 public:
  explicit RunStore(std::string logdir, size_t max_points = 4'000'000);

  // Finds new runs and files and reads what was appended. Called by the
  // accessors below, at most once per `min_interval` (default 0.5 s).
  void refresh();
  void set_min_interval(std::chrono::milliseconds interval) { min_interval_ = interval; }

  // [{name, files, events, updated (wall time), errors: [...], scalars: {tag: {n, last, last_step, best,
  //   best_step, lower_is_better}}, images: {tag: {step, width, height}}, texts: {tag: {step, text}},
  //   histograms: {tag: {step, min, max, num}}}], sorted by name.
  nlohmann::json runs();

  // Scalar points added after `cursor` (0 = all): {"cursor": C, "dropped": D,
  // "series": {run: {tag: [[step, value, wall_time], ...]}}}; pass C back to get only newer points.
  nlohmann::json scalars_since(uint64_t cursor);

  struct Image {
    int64_t step = 0;
    std::string png;
  };
  // The latest image of a run's tag, if there is one.
  std::optional<Image> latest_image(const std::string& run, const std::string& tag);

  const std::string& logdir() const { return logdir_; }

 private:
  struct Point {
    uint64_t seq;
    int64_t step;
    double value, wall_time;
  };
  struct Run {
    std::vector<std::unique_ptr<EventFileReader>> files;
    std::map<std::string, std::vector<Point>> scalars;
    std::map<std::string, SummaryImage> images;
    std::map<std::string, int64_t> image_steps;
    std::map<std::string, std::pair<int64_t, std::string>> texts;
    std::map<std::string, std::pair<int64_t, Histogram>> histograms;
    size_t events = 0;
    double updated = 0;
  };
  void refresh_locked();
  void discover_locked();
  void add_event_locked(Run& run, const Event& event);

  std::string logdir_;
  size_t max_points_;
  std::mutex mutex_;
  std::map<std::string, Run> runs_;
  uint64_t next_seq_ = 1;
  uint64_t points_ = 0, dropped_ = 0;
  std::chrono::milliseconds min_interval_{500};
  std::chrono::steady_clock::time_point last_refresh_{};
};

// Whether smaller values of a scalar tag are better (losses, calibration error).
bool lower_is_better(const std::string& tag);

}  // namespace pneumoscan
