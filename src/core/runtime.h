#pragma once
// Process-wide settings that decide speed on CPU (README, "Performance"):
// allocator behaviour and the ATen thread count.
#include <string>

namespace pneumoscan {

// Keeps glibc malloc from mapping/unmapping large tensors on every iteration
// (measured 2-5x training slowdown from page faults otherwise), in one arena:
// glibc's other arenas unmap their heaps when empty (serve's collapse) and
// each keeps its own peak (serve's RSS). Call first thing in main(), before any tensor is
// allocated or thread started. Safe to call twice. Where the program links tcmalloc
// (allocator_name()), these settings reach only glibc's idle malloc.
void tune_allocator();

// The malloc this process runs on: "tcmalloc" (the program links it where
// installed, CMakeLists.txt; tune_allocator's settings are then glibc's and
// idle), "jemalloc" (preloaded), "asan" (a sanitizer build) or "glibc". Looked
// up by symbol, so a preloaded allocator is named too.
std::string allocator_name();

// Sets ATen's intra-op thread count; 0 means one per available core.
// Debian's LibTorch starts with one thread on these machines.
void set_threads(int threads);

// Makes the ATen and BLAS work started from the calling thread run on that
// thread alone (OpenMP's thread count is per thread; other threads keep
// theirs). For request threads of a server: dozens of them each starting an
// OpenMP team for small tensor operations would busy-wait on the cores the
// inference worker needs.
void single_threaded_here();

// tune_allocator() + set_threads(threads).
void configure_runtime(int threads = 0);

// The shared data folder: $PNEUMOSCAN_SHARED, else the path configured at build time.
std::string shared_dir();

// The source checkout this program was built from (to find models/ and web/
// when running from the build folder).
std::string source_dir();

}  // namespace pneumoscan
