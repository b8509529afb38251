// libFuzzer target: case index files (CaseIndex::load: magic, length-prefixed
// JSON header, index data: vectors, IVF centroids, the HNSW graph checked edge
// by edge), written to a file first. The seeds come with valid checksums, so
// mutations that keep the checksum region whole reach the structure checks.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "core/errors.h"
#include "fuzz_support.h"
#include "search/case_index.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = pneumoscan::fuzz::write_scratch_file(".psindex", data, size);
  try {
    pneumoscan::CaseIndex index = pneumoscan::CaseIndex::load(path);
    (void)index;
  } catch (const pneumoscan::Error&) {
  }
  return 0;
}
