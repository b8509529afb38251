#include "core/csv.h"

#include "core/errors.h"
#include "core/text.h"

namespace pneumoscan {

std::vector<CsvRecord> parse_csv(const std::string& file, const std::string& text) {
  std::vector<CsvRecord> records;
  size_t pos = 0;
  int line = 1;
  if (text.compare(0, 3, "\xEF\xBB\xBF") == 0) pos = 3;  // UTF-8 byte order mark
  while (pos < text.size()) {
    CsvRecord record;
    record.line = line;
    std::string field;
    bool record_done = false;
    bool any_content = false;
    while (!record_done) {
      field.clear();
      if (pos < text.size() && text[pos] == '"') {
        const int quote_line = line;
        ++pos;
        any_content = true;
        while (true) {
          if (pos >= text.size())
            throw InputError(file, "line " + std::to_string(quote_line) + ": unterminated quoted field");
          const char c = text[pos];
          if (c == '"') {
            if (pos + 1 < text.size() && text[pos + 1] == '"') {
              field += '"';
              pos += 2;
              continue;
            }
            ++pos;
            break;
          }
          if (c == '\n') ++line;
          field += c;
          ++pos;
        }
        if (pos < text.size() && text[pos] != ',' && text[pos] != '\n' && text[pos] != '\r')
          throw InputError(file, "line " + std::to_string(line) + ": unexpected text after a quoted field");
      } else {
        while (pos < text.size() && text[pos] != ',' && text[pos] != '\n' && text[pos] != '\r') {
          if (text[pos] == '"')
            throw InputError(file, "line " + std::to_string(line) + ": quote inside an unquoted field");
          field += text[pos++];
        }
        if (!field.empty()) any_content = true;
      }
      record.fields.push_back(field);
      if (pos >= text.size()) {
        record_done = true;
      } else if (text[pos] == ',') {
        any_content = true;
        ++pos;
      } else {  // line end
        if (text[pos] == '\r') ++pos;
        if (pos < text.size() && text[pos] == '\n') ++pos;
        ++line;
        record_done = true;
      }
    }
    if (any_content) records.push_back(std::move(record));
  }
  return records;
}

std::map<std::string, size_t> csv_columns(const std::string& file, const CsvRecord& header) {
  std::map<std::string, size_t> columns;
  for (size_t i = 0; i < header.fields.size(); ++i) {
    const std::string name = lowercase(trim(header.fields[i]));
    if (name.empty()) continue;
    if (!columns.emplace(name, i).second)
      throw InputError(file,
                       "line " + std::to_string(header.line) + ": column " + quoted_excerpt(name) + " twice");
  }
  return columns;
}

}  // namespace pneumoscan
