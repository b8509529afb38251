#pragma once
// Atomic writes: write next to the target, flush, then rename over it, so a
// crash or a full disk never leaves a half-written model, checkpoint or report.
#include <cstdint>
#include <functional>
#include <string>

namespace pneumoscan {

// Calls `write(tmp_path)` to produce the file at a temporary path in the same
// folder, then renames it onto `path`. On any exception the temporary file is
// removed and `path` keeps its previous content.
void write_atomically(const std::string& path, const std::function<void(const std::string&)>& write);

// Writes `bytes` to `path` atomically.
void write_file_atomically(const std::string& path, const std::string& bytes);

// The most read_file reads unless told: a guard against a path that names a
// device or a file far from what the caller expects (/dev/zero never ends).
inline constexpr uint64_t kDefaultReadLimit = uint64_t{4} << 30;
// A limit for the text files people hand the program (manifests, box lists,
// reports): 256 MiB is millions of rows.
inline constexpr uint64_t kTextReadLimit = uint64_t{256} << 20;

// Reads a whole file of at most `max_bytes`; throws IoError naming the file
// when it cannot be read or holds more.
std::string read_file(const std::string& path, uint64_t max_bytes = kDefaultReadLimit);

}  // namespace pneumoscan
