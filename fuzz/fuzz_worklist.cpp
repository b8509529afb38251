// libFuzzer target: the triage worklist's reader (serve/worklist.h) on any
// bytes as its SQLite database file: opening (schema check), listing in
// priority order, and reading entries by id, as `serve` does for the page.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/errors.h"
#include "fuzz_support.h"
#include "serve/worklist.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = pneumoscan::fuzz::write_scratch_file(".db", data, size);
  // SQLite's side files of the previous input must not leak into this one.
  std::remove((path + "-wal").c_str());
  std::remove((path + "-shm").c_str());
  std::remove((path + "-journal").c_str());
  try {
    const pneumoscan::Worklist worklist(path);
    for (const auto& entry : worklist.list(50)) (void)worklist.get(entry.id);
    (void)worklist.get(-1);
    (void)worklist.size();
  } catch (const pneumoscan::Error&) {
  }
  return 0;
}
