#include "cli/progress.h"

#include <unistd.h>

#include <cstdio>

namespace pneumoscan::cli {

ProgressBar::ProgressBar(std::string label, size_t total, bool enabled)
    : label_(std::move(label)),
      total_(total),
      enabled_(enabled && ::isatty(STDERR_FILENO)),
      start_(Clock::now()),
      last_draw_(start_) {}

void ProgressBar::update(size_t done, size_t units_done, const std::string& status) {
  if (!enabled_) return;
  const auto now = Clock::now();
  if (done < total_ && now - last_draw_ < std::chrono::milliseconds(200)) return;
  last_draw_ = now;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double fraction = total_ == 0 ? 1.0 : static_cast<double>(done) / total_;
  const int width = 24;
  const int filled = static_cast<int>(fraction * width);
  std::string bar(filled, '#');
  bar.resize(width, '.');
  const double rate = elapsed > 0 ? units_done / elapsed : 0.0;
  const double eta = fraction > 0 ? elapsed * (1.0 - fraction) / fraction : 0.0;
  std::fprintf(stderr, "\r%s [%s] %zu/%zu %.0f img/s ETA %s %s\033[K", label_.c_str(), bar.c_str(), done,
               total_, rate, format_duration(eta).c_str(), status.c_str());
  std::fflush(stderr);
}

void ProgressBar::finish() {
  if (!enabled_) return;
  std::fprintf(stderr, "\r\033[K");
  std::fflush(stderr);
}

}  // namespace pneumoscan::cli
