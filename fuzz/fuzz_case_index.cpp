// libFuzzer target: case index files (CaseIndex::load: magic, length-prefixed
// JSON header, index data: vectors, IVF centroids, the HNSW graph checked edge
// by edge), written to a file first. Half the inputs (an odd last byte) get a
// recomputed data checksum before loading: a crafted file passes the checksum,
// so the checks behind it must hold on their own, and random mutations would
// otherwise almost never get past it. What loads is searched once.
#include <torch/torch.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "core/errors.h"
#include "core/hash.h"
#include "fuzz_support.h"
#include "search/case_index.h"

namespace {

uint64_t length_at(const std::string& bytes, size_t pos) {
  uint64_t length = 0;
  for (int i = 0; i < 8; ++i) length |= uint64_t(static_cast<unsigned char>(bytes[pos + i])) << (8 * i);
  return length;
}

// Writes the checksum of the data block over the header's "data_checksum"
// value (same length), where the layout allows; else leaves the bytes alone.
void recompute_checksum(std::string& bytes) {
  const size_t header_at = bytes.find('\n');
  if (header_at == std::string::npos || bytes.size() - header_at - 1 < 8) return;
  const size_t header_start = header_at + 1 + 8;
  const uint64_t header_length = length_at(bytes, header_at + 1);
  if (header_length > bytes.size() - header_start || bytes.size() - header_start - header_length < 8) return;
  const size_t data_start = header_start + header_length + 8;
  const std::string checksum =
      pneumoscan::hex64(pneumoscan::fnv1a64(bytes.data() + data_start, bytes.size() - data_start));
  const std::string key = "\"data_checksum\":\"";
  const size_t at = bytes.find(key, header_start);
  if (at == std::string::npos || at + key.size() + 16 > header_start + header_length) return;
  bytes.replace(at + key.size(), 16, checksum);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string bytes(reinterpret_cast<const char*>(data), size);
  if (size > 0 && (data[size - 1] & 1)) recompute_checksum(bytes);
  const std::string& path = pneumoscan::fuzz::write_scratch_file(
      ".psindex", reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  try {
    const pneumoscan::CaseIndex index = pneumoscan::CaseIndex::load(path);
    // What loading accepted must be safe to search (a bad graph edge would fail here, not above).
    const int64_t d = index.dimension();
    index.search(torch::full({d}, 1.0 / std::sqrt(static_cast<double>(d))), 3);
  } catch (const pneumoscan::Error&) {
  }
  return 0;
}
