#pragma once
// FNV-1a 64-bit: a fast, stable (across runs and machines) hash for pixel
// duplicate detection and for pseudonymising patient identifiers.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

namespace pneumoscan {

inline uint64_t fnv1a64(const void* data, size_t size, uint64_t hash = 14695981039346656037ull) {
  const auto* bytes = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < size; ++i) {
    hash ^= bytes[i];
    hash *= 1099511628211ull;
  }
  return hash;
}

inline std::string hex64(uint64_t value) {
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(value));
  return text;
}

}  // namespace pneumoscan
