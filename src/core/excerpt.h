#pragma once
// Quoting user-supplied values in error messages without echoing them whole:
// a 10 MB CSV field must not become a 10 MB error line.
#include <string>

namespace pneumoscan {

// `value` in single quotes, cut to its first `max_chars` bytes with
// "... (N bytes)" appended when longer, and with control bytes (NUL, newline,
// ...) shown as '?', so that the message stays one readable line.
inline std::string quoted_excerpt(const std::string& value, size_t max_chars = 80) {
  std::string shown = value.substr(0, max_chars);
  for (char& c : shown)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) c = '?';
  if (value.size() > max_chars) shown += "... (" + std::to_string(value.size()) + " bytes)";
  return "'" + shown + "'";
}

}  // namespace pneumoscan
