// libFuzzer target: checkpoints (`train --resume` and the generative
// trainers'): read as data by models/torch_archive (no code in the file is
// compiled), weights and snapshots checked by train/checkpoint, the
// optimiser's state by train/optimizer_state, then restored into a small
// network. A checkpoint is the training's own file, but one copied from
// elsewhere to resume a run is as much a stranger's as a model file. Seed:
// fuzz_seeds' checkpoint/small.ckpt (checkpoint_parts.h), a few KB.
#include <cstddef>
#include <cstdint>

#include "checkpoint_parts.h"
#include "core/errors.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = pneumoscan::fuzz::write_scratch_file(".ckpt", data, size);
  pneumoscan::fuzz::SmallCheckpoint checkpoint;
  try {
    (void)pneumoscan::load_parts(path, checkpoint.settings, checkpoint.parts());
    checkpoint.step();  // what resuming does next, with the restored state
  } catch (const pneumoscan::Error&) {
  }
  return 0;
}
