#pragma once
// Work over many independent items (decoding a data set's files) on a few
// threads, with serialised progress reports.
#include <cstddef>
#include <functional>

namespace pneumoscan {

// Called as items finish: (done, total), from worker threads, one call at a time.
using ProgressCallback = std::function<void(size_t done, size_t total)>;

// Runs work(i) for every i in [0, count) on `threads` threads (0 = one per
// core; never more than `count`), the calling thread being one of them, and
// returns when all are done. Items are handed out in order, one at a time.
// `work` should catch its own errors (one item's failure is usually that
// item's result); an exception that escapes it stops the handing out, and
// the first one is rethrown here after every thread has finished.
void parallel_for(size_t count, int threads, const std::function<void(size_t)>& work,
                  const ProgressCallback& progress = nullptr);

// The thread count `threads` stands for: itself when positive, else one per core.
int resolve_threads(int threads);

}  // namespace pneumoscan
