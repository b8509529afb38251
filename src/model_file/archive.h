#pragma once
// The container every PneumoScan network file shares (classifiers,
// model_file.h; autoencoders and GAN generators, generative_file.h): a
// LibTorch archive holding the metadata JSON text, the weights by name and a
// checksum over both (integrity.h), written atomically and verified on load.
#include <torch/nn/module.h>
#include <torch/serialize/output-archive.h>

#include <functional>
#include <string>
#include <utility>

#include "core/errors.h"
#include "models/state_dict.h"

namespace pneumoscan {

// Writes `metadata_text` and the module's weights (contiguous float32 CPU
// copies), plus `extra` named tensors stored beside them (float32; e.g. a
// classifier's out-of-distribution reference), with their checksum to `path`,
// atomically; IoError naming the file.
void write_network_archive(const std::string& path, const std::string& metadata_text, torch::nn::Module& net,
                           const NamedTensors& extra = {});

// Writes any LibTorch archive (model files, checkpoints, code files) to
// `path` atomically, streaming through CheckedFileWriter (core/checked_file.h)
// so that a full disk is an IoError naming the file, never LibTorch's abort.
void save_archive(torch::serialize::OutputArchive& archive, const std::string& path);

struct NetworkArchive {
  std::string metadata_text;      // exactly as stored (the checksum covers these bytes)
  NamedTensors tensors;           // present in full, finite, checksum verified
  std::string checksum;           // 16 hex digits; "" for a file written before checksums
  std::string integrity_warning;  // "" when verified
};

// The metadata text alone (cheap: no weight is read or verified).
std::string read_network_metadata(const std::string& path);

// Reads and verifies everything. `has_checksum_field`: whether the metadata
// (parsed by the caller) names a checksum algorithm; a file is taken for one
// written before checksums only when neither the metadata nor the archive
// mentions one. Throws ModelFileError naming the file: cannot open, not a
// PneumoScan file, no weights, records cut short, "checksum mismatch: the
// file is damaged", non-finite weights.
NetworkArchive read_network_archive(
    const std::string& path, const std::function<bool(const std::string& metadata_text)>& has_checksum_field);

// Runs `body`, turning LibTorch's and the standard library's exceptions
// ("PytorchStreamReader failed ...") into ModelFileError naming `path`; the
// project's own errors pass unchanged.
template <typename Body>
auto archive_errors_named(const std::string& path, Body&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const Error&) {
    throw;
  } catch (const c10::Error&) {
    throw ModelFileError(path, "damaged model file (its archive cannot be read)");
  } catch (const std::exception&) {
    throw ModelFileError(path, "damaged model file (its contents are inconsistent)");
  }
}

}  // namespace pneumoscan
