#pragma once
// JSON text for output that carries file names, and nlohmann's exception texts
// in the user's terms. File names are bytes, not necessarily UTF-8: nlohmann's
// plain dump() throws type_error.316 on the first invalid byte, which once
// emptied a whole `predict --json` batch.
#include <nlohmann/json.hpp>
#include <string>

namespace pneumoscan {

// j.dump(indent) with invalid UTF-8 replaced by U+FFFD instead of throwing.
inline std::string json_text(const nlohmann::json& j, int indent = -1) {
  return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

// "[json.exception.out_of_range.403] key 'name' not found" -> "key 'name' not found";
// "[json.exception.parse_error.101] parse error at line 1, column 3: ..." -> "parse error at line 1, column
// 3: ...".
inline std::string json_problem(const nlohmann::json::exception& e) {
  std::string text = e.what();
  const size_t bracket = text.find("] ");
  if (text.rfind("[json.exception.", 0) == 0 && bracket != std::string::npos) text = text.substr(bracket + 2);
  return text;
}

}  // namespace pneumoscan
