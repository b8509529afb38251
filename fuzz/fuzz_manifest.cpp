// libFuzzer target: CSV manifests (read_manifest), written to a file in
// /dev/shm (or TMPDIR) first because the reader takes a path.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "core/errors.h"
#include "data/sample.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = pneumoscan::fuzz::write_scratch_file(".csv", data, size);
  try {
    for (const pneumoscan::Sample& sample : pneumoscan::read_manifest(path))
      if (sample.path.empty() || sample.path.find('\0') != std::string::npos) std::abort();  // the contract
  } catch (const pneumoscan::Error&) {
  }
  return 0;
}
