#include "model_file/archive.h"

#include <ATen/core/Dict.h>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>

#include "core/archive_bounds.h"
#include "core/atomic_file.h"
#include "core/checked_file.h"
#include "model_file/integrity.h"

namespace pneumoscan {
namespace {

constexpr const char* kMetadataKey = "pneumoscan_metadata";
constexpr const char* kWeightsKey = "pneumoscan_weights";
constexpr const char* kChecksumKey = "pneumoscan_checksum";

torch::serialize::InputArchive open_archive(const std::string& path) {
  check_archive_bounds(path);  // LibTorch trusts the lengths the file declares
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(path);
  } catch (const c10::Error& e) {
    std::string reason = e.what_without_backtrace();
    if (reason.find("open file failed") != std::string::npos ||
        reason.find("No such file") != std::string::npos)
      throw ModelFileError(path, "cannot open model file");
    throw ModelFileError(path, "not a PneumoScan model file (unreadable archive)");
  }
  return archive;
}

std::string read_metadata_text(torch::serialize::InputArchive& archive, const std::string& path) {
  c10::IValue value;
  if (!archive.try_read(kMetadataKey, value) || !value.isString())
    throw ModelFileError(path, "not a PneumoScan model file (no metadata)");
  return value.toStringRef();
}

NamedTensors read_weights(torch::serialize::InputArchive& archive, const std::string& path) {
  c10::IValue value;
  if (!archive.try_read(kWeightsKey, value) || !value.isGenericDict())
    throw ModelFileError(path, "model file has no weights");
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
  return archive_errors_named(path, [&] {
    auto archive = open_archive(path);
    return read_metadata_text(archive, path);
  });
}

NetworkArchive read_network_archive(const std::string& path,
                                    const std::function<bool(const std::string&)>& has_checksum_field) {
  return archive_errors_named(path, [&] {
    auto archive = open_archive(path);
    NetworkArchive result;
    result.metadata_text = read_metadata_text(archive, path);
    const bool named_in_metadata = has_checksum_field(result.metadata_text);
    result.tensors = read_weights(archive, path);
    check_weight_records(path, result.tensors);  // before any weight byte is read
    c10::IValue stored;
    const bool has_checksum = archive.try_read(kChecksumKey, stored);
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
