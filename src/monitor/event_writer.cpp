#include "monitor/event_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>

#include "core/errors.h"
#include "monitor/tfrecord.h"

namespace pneumoscan {
namespace {
namespace fs = std::filesystem;

double unix_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string host_name() {
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "localhost";
  return run_folder_name(name);
}

}  // namespace

std::string run_folder_name(const std::string& text) {
  std::string name;
  for (char c : text)
    name += (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-') ? c : '_';
  if (name.empty() || name == "." || name == "..") name = "run";
  return name;
}

EventWriter::EventWriter(const std::string& run_dir, double max_pending_seconds)
    : max_pending_seconds_(max_pending_seconds) {
  std::error_code ec;
  fs::create_directories(run_dir, ec);
  if (ec) throw IoError(run_dir, "cannot create the log folder (" + ec.message() + ")");
  const std::string stem =
      (fs::path(run_dir) / ("events.out.tfevents." + std::to_string(std::time(nullptr)) + "." + host_name()))
          .string();
  // O_EXCL: two writers started in the same second get files of their own.
  for (int attempt = 0; fd_ < 0; ++attempt) {
    path_ = attempt == 0 ? stem : stem + "." + std::to_string(attempt);
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
    if (fd_ < 0 && (errno != EEXIST || attempt > 1000))
      throw IoError(path_, std::string("cannot create the event file (") + std::strerror(errno) + ")");
  }
  Event version;
  version.wall_time = unix_seconds();
  version.file_version = "brain.Event:2";
  pending_ = frame_record(encode_event(version));
  flush();
}

EventWriter::~EventWriter() {
  try {
    flush();
  } catch (const std::exception&) {
  }
  if (fd_ >= 0) ::close(fd_);
}

void EventWriter::add(SummaryValue value, int64_t step) {
  Event event;
  event.wall_time = unix_seconds();
  event.step = step;
  event.values.push_back(std::move(value));
  std::lock_guard<std::mutex> lock(mutex_);
  if (pending_.empty()) pending_since_ = std::chrono::steady_clock::now();
  pending_ += frame_record(encode_event(event));
  if (std::chrono::duration<double>(std::chrono::steady_clock::now() - pending_since_).count() >=
      max_pending_seconds_)
    flush_locked();
}

void EventWriter::add_scalar(const std::string& tag, double value, int64_t step) {
  SummaryValue v;
  v.tag = tag;
  v.kind = SummaryValue::Kind::kScalar;
  v.scalar = value;
  add(std::move(v), step);
}

void EventWriter::add_histogram(const std::string& tag, const float* values, size_t count, int64_t step,
                                int bins) {
  SummaryValue v;
  v.tag = tag;
  v.kind = SummaryValue::Kind::kHistogram;
  v.histogram = make_histogram(values, count, bins);
  if (v.histogram.num > 0) add(std::move(v), step);
}

void EventWriter::add_image(const std::string& tag, std::string png, int height, int width, int channels,
                            int64_t step) {
  SummaryValue v;
  v.tag = tag;
  v.kind = SummaryValue::Kind::kImage;
  v.image.height = height;
  v.image.width = width;
  v.image.colorspace = channels;
  v.image.encoded = std::move(png);
  add(std::move(v), step);
}

void EventWriter::add_text(const std::string& tag, const std::string& text, int64_t step) {
  SummaryValue v;
  v.tag = tag;
  v.kind = SummaryValue::Kind::kText;
  v.text = text;
  add(std::move(v), step);
}

void EventWriter::flush() {
  std::lock_guard<std::mutex> lock(mutex_);
  flush_locked();
}

void EventWriter::flush_locked() {
  if (pending_.empty()) return;
  size_t written = 0;
  while (written < pending_.size()) {
    const ssize_t n = ::write(fd_, pending_.data() + written, pending_.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string problem = n < 0 ? std::strerror(errno) : "nothing written";
      // Cut the torn tail off; should even that fail, readers stop at it (its checksum cannot match).
      const int cut = ::ftruncate(fd_, static_cast<off_t>(size_));
      (void)cut;
      throw IoError(path_, "cannot append to the event file (" + problem + ")");
    }
    written += static_cast<size_t>(n);
  }
  ::fdatasync(fd_);
  size_ += pending_.size();
  pending_.clear();
}

}  // namespace pneumoscan
