// libFuzzer target: model files (load_model: zip archive, pickled metadata
// and weights, record and checksum checks, architecture and shapes). The
// input is written to a file because LibTorch reads archives by path.
// LibTorch itself is not instrumented; model_file/ is.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "core/errors.h"
#include "fuzz_support.h"
#include "model_file/model_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = pneumoscan::fuzz::write_scratch_file(".psmodel", data, size);
  try {
    pneumoscan::LoadedModel model = pneumoscan::load_model(path);
    (void)model;
  } catch (const pneumoscan::Error&) {
  }
  return 0;
}
