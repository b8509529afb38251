#pragma once
// Reads TensorBoard event files, also while they are being written: every
// record's two checksums are checked, lengths are bounded (kMaxRecordBytes),
// and a record cut off at the end of the file is left for the next read.
// Used by `pneumoscan board`; safe on any bytes (corrupt files end in an error
// message, never a crash or an unbounded allocation).
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "monitor/event_proto.h"

namespace pneumoscan {

// Follows one event file as it grows.
class EventFileReader {
 public:
  explicit EventFileReader(std::string path) : path_(std::move(path)) {}

  // Reads what was appended since the last call (at most `max_bytes` of it)
  // and calls `on_event` for each complete record. A checksum mismatch stops
  // this file for good (error() names the file and byte offset); a record
  // whose checksums match but which is not an Event is skipped and noted in
  // error(). Returns the number of events delivered.
  size_t poll(const std::function<void(const Event&)>& on_event, size_t max_bytes = 16u << 20);

  const std::string& path() const { return path_; }
  const std::string& error() const { return error_; }
  bool stopped() const { return stopped_; }
  uint64_t offset() const { return offset_; }  // bytes of complete records consumed

 private:
  std::string path_;
  uint64_t offset_ = 0;
  std::string pending_;  // bytes read past offset_ that do not yet make a record
  std::string error_;
  bool stopped_ = false;
};

// Every event of a complete file; InputError naming the file and offset on a
// corrupt or truncated record, IoError when it cannot be read.
std::vector<Event> read_event_file(const std::string& path);

// Whether a file name is an event file's (TensorBoard: contains "tfevents").
bool is_event_file_name(const std::string& file_name);

}  // namespace pneumoscan
