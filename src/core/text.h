#pragma once
// Small text helpers shared by reports, tables and logs.
#include <string>
#include <vector>

namespace pneumoscan {

// printf into a std::string of any length: format_string("%.4f", x).
std::string format_string(const char* pattern, ...) __attribute__((format(printf, 1, 2)));

// One CSV field (RFC 4180): quoted when it holds a comma, quote or line
// break, with its quotes doubled; as is otherwise.
std::string csv_field(const std::string& value);

// ASCII lower and upper case; surrounding white space removed.
std::string lowercase(std::string text);
std::string uppercase(std::string text);
std::string trim(const std::string& text);

// The parts with `separator` between them: join({"a", "b"}, ", ") == "a, b".
std::string join(const std::vector<std::string>& parts, const std::string& separator);

// A user-supplied value for an error message, without echoing it whole (a
// 10 MB CSV field must not become a 10 MB error line): in single quotes, cut
// to its first `max_chars` bytes with "... (N bytes)" appended when longer,
// control bytes (NUL, newline, ...) shown as '?', so the message stays one line.
std::string quoted_excerpt(const std::string& value, size_t max_chars = 80);

}  // namespace pneumoscan
