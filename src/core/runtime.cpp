#include "core/runtime.h"

#include <ATen/Parallel.h>
#include <malloc.h>

#include <climits>
#include <cstdlib>

#include "core/parallel.h"

namespace pneumoscan {

void tune_allocator() {
  mallopt(M_MMAP_MAX, 0);
  mallopt(M_TRIM_THRESHOLD, INT_MAX);
}

void set_threads(int threads) { at::set_num_threads(resolve_threads(threads)); }

void configure_runtime(int threads) {
  tune_allocator();
  set_threads(threads);
}

std::string shared_dir() {
  if (const char* env = std::getenv("PNEUMOSCAN_SHARED"); env != nullptr && *env != '\0') return env;
  return PNEUMOSCAN_DEFAULT_SHARED_DIR;
}

std::string source_dir() { return PNEUMOSCAN_SOURCE_DIR; }

}  // namespace pneumoscan
