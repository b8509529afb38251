#pragma once
// CSV files users hand the program (manifests, box labels): RFC 4180 records
// with the line each starts on, and a header's columns by name, so every
// error can name the file and the line.
#include <cstddef>
#include <map>
#include <string>
#include <vector>

namespace pneumoscan {

struct CsvRecord {
  int line = 0;  // 1-based line where the record starts
  std::vector<std::string> fields;
};

// RFC 4180: comma separated, fields optionally quoted, "" inside quotes is a
// quote, quoted fields may hold commas and line breaks; CRLF or LF line ends;
// a UTF-8 byte order mark is skipped. Blank lines are skipped. Throws
// InputError(file, "line N: ...") for an unterminated quote, text after a
// closing quote, or a quote inside an unquoted field.
std::vector<CsvRecord> parse_csv(const std::string& file, const std::string& text);

// The header's columns by name (trimmed, lower case) -> field index; empty
// names are skipped. Throws InputError(file, ...) for a name given twice.
std::map<std::string, size_t> csv_columns(const std::string& file, const CsvRecord& header);

}  // namespace pneumoscan
