#pragma once
// Atomic writes: write next to the target, flush, then rename over it, so a
// crash or a full disk never leaves a half-written model, checkpoint or report.
#include <functional>
#include <string>

namespace pneumoscan {

// Calls `write(tmp_path)` to produce the file at a temporary path in the same
// folder, then renames it onto `path`. On any exception the temporary file is
// removed and `path` keeps its previous content.
void write_atomically(const std::string& path, const std::function<void(const std::string&)>& write);

// Writes `bytes` to `path` atomically.
void write_file_atomically(const std::string& path, const std::string& bytes);

// Reads a whole file; throws IoError naming the file.
std::string read_file(const std::string& path);

}  // namespace pneumoscan
