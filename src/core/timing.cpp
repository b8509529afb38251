#include "core/timing.h"

#include <cstdio>
#include <ctime>

namespace pneumoscan {

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double milliseconds_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

std::string format_duration(double seconds) {
  char text[32];
  const long s = static_cast<long>(seconds + 0.5);
  if (s >= 3600)
    std::snprintf(text, sizeof text, "%ldh%02ldm", s / 3600, (s / 60) % 60);
  else if (s >= 60)
    std::snprintf(text, sizeof text, "%ldm%02lds", s / 60, s % 60);
  else
    std::snprintf(text, sizeof text, "%.1fs", seconds);
  return text;
}

std::string utc_now(UtcFormat format) {
  const auto now = std::chrono::system_clock::now();
  const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char text[48];
  switch (format) {
    case UtcFormat::kIso:
      std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
      break;
    case UtcFormat::kIsoMillis: {
      char whole[32];
      std::strftime(whole, sizeof whole, "%Y-%m-%dT%H:%M:%S", &tm);
      const int millis = static_cast<int>(
          std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000);
      std::snprintf(text, sizeof text, "%s.%03dZ", whole, millis);
      break;
    }
    case UtcFormat::kReadable:
      std::strftime(text, sizeof text, "%Y-%m-%d %H:%M UTC", &tm);
      break;
  }
  return text;
}

}  // namespace pneumoscan
