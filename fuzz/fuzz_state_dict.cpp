// libFuzzer target: pretrained weights files (read_state_dict_file: the
// archive bounds checked by core/archive_bounds.cpp, then LibTorch's
// pickle_load). Weights come from the internet (`train --pretrained`), so
// their reader is a parser a stranger can reach. The seeds are small archives
// as torch.save writes them (a few tensors; fuzz_seeds), so mutations reach the
// zip directory and the pickle at thousands of executions per second, and any
// length LibTorch would trust past the bounds check shows up as ASan's
// out-of-memory (one allocation over 300 MB fails, scripts/fuzz.sh). Every
// tensor's bytes are read, as the import's cast reads them: until session 19
// this harness stopped at the parse, and a record cut short, which the import
// read past, was out of its reach.
#include <cstddef>
#include <cstdint>

#include "core/errors.h"
#include "fuzz_support.h"
#include "models/pretrained.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = pneumoscan::fuzz::write_scratch_file(".pt", data, size);
  try {
    for (const auto& entry : pneumoscan::read_state_dict_file(path)) (void)entry.second.clone();
  } catch (const pneumoscan::Error&) {
  }
  return 0;
}
