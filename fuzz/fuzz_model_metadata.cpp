// libFuzzer target: what a model file's metadata makes load_model do. The
// `model_file` target mutates whole archives, but a valid one is megabytes
// (the smallest network's weights) and nearly every mutation of it dies in
// the zip reader or the checksum. A crafted file passes both (anyone can
// compute the checksum), so here the input is the metadata text and the
// harness writes a consistent archive around it: first byte = which weights
// go in (bit 0: the small tensors of a small-cnn at 32 px, every layer named
// but the big convolution and dense weights left out, which would cost
// 2 MB of writing, hashing and reading per input: 19 instead of ~450
// executions/s; bit 1: an out-of-distribution reference of (byte >> 4) + 1
// rows of 8), the rest = the metadata JSON. Parsing, limits, network
// construction from the metadata's spec and the weight checks behind the
// checksum are what gets exercised; complete files are `model_file`'s.
#include <torch/torch.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/errors.h"
#include "fuzz_support.h"
#include "model_file/archive.h"
#include "model_file/model_file.h"
#include "models/registry.h"
#include "models/state_dict.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace pneumoscan;
  static const NamedTensors small_weights = [] {
    torch::manual_seed(1);
    Classifier net = create_model({"small-cnn", 32, 1, 1});
    NamedTensors small;
    for (auto& [name, tensor] : state_dict(*net))
      if (tensor.numel() <= 4096) small.emplace_back(name, tensor.detach().clone());
    return small;
  }();
  static torch::nn::Module no_module_weights;
  if (size < 1) return 0;
  const uint8_t layout = data[0];
  const std::string metadata(reinterpret_cast<const char*>(data + 1), size - 1);
  NamedTensors extra;
  if (layout & 1) extra = small_weights;
  if (layout & 2) extra.emplace_back(kOodReferenceKey, torch::zeros({(layout >> 4) + 1, 8}));
  const std::string& path = fuzz::scratch_path(".psmodel");
  write_network_archive(path, metadata, no_module_weights, extra);
  try {
    LoadedModel model = load_model(path);
    (void)model;
  } catch (const Error&) {
  }
  return 0;
}
