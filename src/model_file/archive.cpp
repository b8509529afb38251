#include "model_file/archive.h"

#include <ATen/core/Dict.h>
#include <torch/serialize/output-archive.h>

#include "core/atomic_file.h"
#include "core/checked_file.h"
#include "model_file/integrity.h"
#include "models/torch_archive.h"

namespace pneumoscan {
namespace {

constexpr const char* kMetadataKey = "pneumoscan_metadata";
constexpr const char* kWeightsKey = "pneumoscan_weights";
constexpr const char* kChecksumKey = "pneumoscan_checksum";

// The attributes the file's module was written with (name -> value), read as
// data: its code is never compiled (models/torch_archive.h).
c10::IValue open_archive(const std::string& path) {
  return read_archive_value(path, "model file", "not a PneumoScan model file (unreadable archive)");
}

std::string read_metadata_text(const c10::IValue& archive, const std::string& path) {
  const c10::IValue value = archive_attribute(archive, kMetadataKey);
  if (!value.isString()) throw ModelFileError(path, "not a PneumoScan model file (no metadata)");
  return value.toStringRef();
}

NamedTensors read_weights(const c10::IValue& archive, const std::string& path) {
  const c10::IValue value = archive_attribute(archive, kWeightsKey);
  if (!value.isGenericDict()) throw ModelFileError(path, "model file has no weights");
  NamedTensors tensors;
  for (const auto& entry : value.toGenericDict()) {
    if (!entry.key().isString() || !entry.value().isTensor()) throw ModelFileError(path, "corrupt weights");
    tensors.emplace_back(entry.key().toStringRef(), entry.value().toTensor());
  }
  return tensors;
}

}  // namespace

void write_network_archive(const std::string& path, const std::string& metadata_text, torch::nn::Module& net,
                           const NamedTensors& extra) {
  NamedTensors tensors;
  c10::Dict<std::string, torch::Tensor> weights;
  for (auto& [name, tensor] : state_dict(net)) {
    tensors.emplace_back(name, tensor.detach().to(torch::kCPU).contiguous().clone());
    weights.insert(name, tensors.back().second);
  }
  for (const auto& [name, tensor] : extra) {
    tensors.emplace_back(name, tensor.detach().to(torch::kCPU, torch::kFloat32).contiguous().clone());
    weights.insert(name, tensors.back().second);
  }
  torch::serialize::OutputArchive archive;
  archive.write(kMetadataKey, c10::IValue(metadata_text));
  archive.write(kWeightsKey, c10::IValue(weights));
  archive.write(kChecksumKey, c10::IValue(weights_checksum(metadata_text, tensors)));
  save_archive(archive, path);
}

void save_archive(torch::serialize::OutputArchive& archive, const std::string& path) {
  write_atomically(path, [&](const std::string& tmp) {
    CheckedFileWriter file(tmp, path);
    try {
      // The writer is told every byte went out: on a short write LibTorch
      // throws from a destructor (std::terminate); the error waits in `file`.
      archive.save_to([&](const void* data, size_t size) {
        file.write(data, size);
        return size;
      });
    } catch (const c10::Error& e) {
      throw IoError(path, std::string("cannot write: ") + e.what_without_backtrace());
    }
    file.finish();
  });
}

std::string read_network_metadata(const std::string& path) {
  return archive_errors_named(path, [&] { return read_metadata_text(open_archive(path), path); });
}

NetworkArchive read_network_archive(const std::string& path,
                                    const std::function<bool(const std::string&)>& has_checksum_field) {
  return archive_errors_named(path, [&] {
    auto archive = open_archive(path);
    NetworkArchive result;
    result.metadata_text = read_metadata_text(archive, path);
    const bool named_in_metadata = has_checksum_field(result.metadata_text);
    result.tensors = read_weights(archive, path);
    check_weight_types(path, result.tensors);
    const c10::IValue stored = archive_attribute(archive, kChecksumKey);
    const bool has_checksum = !stored.isNone();
    if (!has_checksum && !named_in_metadata) {
      result.integrity_warning =
          "no checksum (written before PneumoScan checked model files): damage to it cannot be detected";
    } else {
      if (!has_checksum || !stored.isString())
        throw ModelFileError(path, "checksum missing: the file is damaged");
      result.checksum = weights_checksum(result.metadata_text, result.tensors);
      if (stored.toStringRef() != result.checksum)
        throw ModelFileError(path, "checksum mismatch: the file is damaged");
    }
    check_weights_finite(path, result.tensors);
    return result;
  });
}

}  // namespace pneumoscan
