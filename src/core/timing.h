#pragma once
// Wall-clock helpers: elapsed time for speed figures and logs, durations for
// people ("1m23s"), and UTC timestamps for files and logs.
#include <chrono>
#include <string>

namespace pneumoscan {

using Clock = std::chrono::steady_clock;

// Seconds (milliseconds) from `start` to now, on the monotonic clock.
double seconds_since(Clock::time_point start);
double milliseconds_since(Clock::time_point start);

// A started stopwatch.
class Stopwatch {
 public:
  Stopwatch() : start_(Clock::now()) {}
  double seconds() const { return seconds_since(start_); }
  double milliseconds() const { return milliseconds_since(start_); }
  void restart() { start_ = Clock::now(); }

 private:
  Clock::time_point start_;
};

// "12.3s", "1m23s", "2h05m".
std::string format_duration(double seconds);

enum class UtcFormat {
  kIso,        // 2024-05-01T12:34:56Z (model files)
  kIsoMillis,  // 2024-05-01T12:34:56.789Z (logs)
  kReadable,   // 2024-05-01 12:34 UTC (reports)
};

// The current time in UTC.
std::string utc_now(UtcFormat format = UtcFormat::kIso);

}  // namespace pneumoscan
