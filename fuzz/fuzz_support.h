#pragma once
// Shared by the fuzz targets whose parser reads a path, not bytes.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace pneumoscan::fuzz {

// This process's own scratch file (in /dev/shm when writable, so no disk
// I/O); `suffix` is its extension (one per process: the first call's).
inline const std::string& scratch_path(const char* suffix) {
  static const std::string path = [suffix] {
    const char* tmp = std::getenv("TMPDIR");
    const std::string dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : tmp != nullptr ? tmp : "/tmp";
    return dir + "/pneumoscan-fuzz-" + std::to_string(getpid()) + suffix;
  }();
  return path;
}

// Writes the input to scratch_path(suffix) and returns the path.
inline const std::string& write_scratch_file(const char* suffix, const uint8_t* data, size_t size) {
  const std::string& path = scratch_path(suffix);
  FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr || std::fwrite(data, 1, size, file) != size || std::fclose(file) != 0) std::abort();
  return path;
}

}  // namespace pneumoscan::fuzz
