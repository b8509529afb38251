#pragma once
// Shared by the fuzz targets whose parser reads a path, not bytes.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace pneumoscan::fuzz {

// Writes the input to this process's own scratch file (in /dev/shm when
// writable, so no disk I/O) and returns its path; `suffix` is its extension.
inline const std::string& write_scratch_file(const char* suffix, const uint8_t* data, size_t size) {
  static const std::string path = [suffix] {
    const char* tmp = std::getenv("TMPDIR");
    const std::string dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : tmp != nullptr ? tmp : "/tmp";
    return dir + "/pneumoscan-fuzz-" + std::to_string(getpid()) + suffix;
  }();
  FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr || std::fwrite(data, 1, size, file) != size || std::fclose(file) != 0) std::abort();
  return path;
}

}  // namespace pneumoscan::fuzz
