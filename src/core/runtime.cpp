#include "core/runtime.h"

#include <ATen/Parallel.h>
#include <malloc.h>
#include <omp.h>  // declarations only: LibTorch's OpenMP runtime (libgomp) provides them

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <thread>

#include "core/parallel.h"

namespace pneumoscan {

void tune_allocator() {
  mallopt(M_MMAP_MAX, 0);
  mallopt(M_TRIM_THRESHOLD, INT_MAX);
  // Memory is never given back (above), so every malloc arena keeps its own
  // peak: glibc's default of 8 arenas per core let `serve`'s many connection
  // threads grow RSS from 450 to 770 MiB in a minute of mixed load
  // (bench/load/soak.sh); one arena per core stayed flat.
  mallopt(M_ARENA_MAX, static_cast<int>(std::max(2u, std::thread::hardware_concurrency())));
}

void set_threads(int threads) { at::set_num_threads(resolve_threads(threads)); }

void single_threaded_here() {
  // ATen sets each thread's OpenMP count from the process's on the thread's
  // first tensor operation: let it happen now, then override for this thread.
  at::get_num_threads();
  omp_set_num_threads(1);  // this thread's setting only; at::set_num_threads changes the process's
}

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
