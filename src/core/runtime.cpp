#include "core/runtime.h"

#include <ATen/Parallel.h>
#include <dlfcn.h>
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
  // One arena: only the main (brk) arena obeys the two settings above. The
  // others live in 64 MB mmap'd heaps that glibc unmaps whenever one empties,
  // so a thread moved to one of them (threads change arena when the lock is
  // contended) page-faulted its way through every forward pass: `serve`
  // collapsed from 41 to 8-14 req/s (32 clients, 40% system time, page faults
  // in elementwise kernels; README "Performance"). More arenas also multiplied
  // the kept peak (8 per core: RSS 450 -> 770 MiB in a minute of mixed load).
  mallopt(M_ARENA_MAX, 1);
}

std::string allocator_name() {
#if defined(__SANITIZE_ADDRESS__)
  return "asan";  // AddressSanitizer's own malloc, whatever is linked
#else
  // Each exports an entry point glibc lacks; dlsym searches the whole process.
  if (dlsym(RTLD_DEFAULT, "tc_malloc") != nullptr) return "tcmalloc";
  if (dlsym(RTLD_DEFAULT, "mallctl") != nullptr) return "jemalloc";
  return "glibc";
#endif
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
