#pragma once
// Writes TensorBoard event files natively: TFRecord-framed Event messages
// (tfrecord.h, event_proto.h) in RUN_DIR/events.out.tfevents.<unix time>.<host>,
// starting with file_version "brain.Event:2". TensorBoard (elsewhere) and
// `pneumoscan board` read them while they grow.
//
// Appends are all-or-nothing: records are buffered and written with one
// append per flush; when that write fails, the file is cut back to its last
// complete record (so no reader ever sees a torn record after an error) and
// IoError names the file. flush() runs on every call to it (the trainer calls
// it once per epoch) and by itself when the oldest buffered record is older
// than `max_pending_seconds`, so a live page sees per-step points too.
// Thread-safe.
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "monitor/event_proto.h"

namespace pneumoscan {

class EventWriter {
 public:
  // Creates `run_dir` (and parents) and a new event file in it; IoError when it cannot.
  explicit EventWriter(const std::string& run_dir, double max_pending_seconds = 2.0);
  ~EventWriter();  // flushes; errors are swallowed (use flush() to see them)
  EventWriter(const EventWriter&) = delete;
  EventWriter& operator=(const EventWriter&) = delete;

  void add_scalar(const std::string& tag, double value, int64_t step);
  // Histogram of the finite values (make_histogram); nothing is written for none.
  void add_histogram(const std::string& tag, const float* values, size_t count, int64_t step, int bins = 30);
  // `png`: PNG bytes of an image of height x width with `channels` (1 gray, 3 RGB, 4 RGBA).
  void add_image(const std::string& tag, std::string png, int height, int width, int channels, int64_t step);
  // Markdown text (TensorBoard's text plugin).
  void add_text(const std::string& tag, const std::string& text, int64_t step);

  // Appends the buffered records and syncs them to disk; IoError naming the file on failure.
  void flush();
  const std::string& path() const { return path_; }

 private:
  void add(SummaryValue value, int64_t step);
  void flush_locked();
  std::mutex mutex_;
  std::string path_;
  int fd_ = -1;
  uint64_t size_ = 0;  // bytes of complete records on disk
  std::string pending_;
  double max_pending_seconds_;
  std::chrono::steady_clock::time_point pending_since_;
};

// A run folder name from free text: letters, digits and ._- kept, the rest '_'.
std::string run_folder_name(const std::string& text);

}  // namespace pneumoscan
