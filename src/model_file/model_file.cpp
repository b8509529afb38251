#include "model_file/model_file.h"

#include <chrono>
#include <ctime>
#include <map>
#include <set>

#include <ATen/core/Dict.h>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>

#include "core/atomic_file.h"
#include "core/errors.h"
#include "core/json_text.h"
#include "data/sample.h"
#include "model_file/integrity.h"

namespace pneumoscan {
namespace {

constexpr const char* kMetadataKey = "pneumoscan_metadata";
constexpr const char* kWeightsKey = "pneumoscan_weights";
constexpr const char* kChecksumKey = "pneumoscan_checksum";

std::string utc_now() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&now, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

torch::serialize::InputArchive open_archive(const std::string& path) {
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(path);
  } catch (const c10::Error& e) {
    std::string reason = e.what_without_backtrace();
    if (reason.find("open file failed") != std::string::npos || reason.find("No such file") != std::string::npos)
      throw ModelFileError(path, "cannot open model file");
    throw ModelFileError(path, "not a PneumoScan model file (unreadable archive)");
  }
  return archive;
}

// The metadata JSON exactly as stored (the checksum covers these bytes).
std::string read_metadata_text(torch::serialize::InputArchive& archive, const std::string& path) {
  c10::IValue value;
  if (!archive.try_read(kMetadataKey, value) || !value.isString())
    throw ModelFileError(path, "not a PneumoScan model file (no metadata)");
  return value.toStringRef();
}

ModelMetadata parse_metadata(const std::string& text, const std::string& path) {
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception&) {
    throw ModelFileError(path, "damaged model file (its metadata is not valid JSON)");
  }
  return metadata_from_json(json, path);
}

std::vector<std::pair<std::string, torch::Tensor>> read_weights(torch::serialize::InputArchive& archive,
                                                                const std::string& path) {
  c10::IValue value;
  if (!archive.try_read(kWeightsKey, value) || !value.isGenericDict())
    throw ModelFileError(path, "model file has no weights");
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  for (const auto& entry : value.toGenericDict()) {
    if (!entry.key().isString() || !entry.value().isTensor()) throw ModelFileError(path, "corrupt weights");
    tensors.emplace_back(entry.key().toStringRef(), entry.value().toTensor());
  }
  return tensors;
}

// LibTorch's texts ("Unknown type name '__torch__...'", "PytorchStreamReader
// failed ...") mean a damaged or foreign archive; say so and name the file.
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

}  // namespace

nlohmann::json to_json(const ModelMetadata& m) {
  return {{"format", "pneumoscan-model"},
          {"format_version", m.format_version},
          {"name", m.name},
          {"architecture", m.spec.architecture},
          {"input_size", m.spec.input_size},
          {"in_channels", m.spec.in_channels},
          {"num_outputs", m.spec.num_outputs},
          {"preprocess", to_json(m.preprocess)},
          {"class_names", m.class_names},
          {"threshold", m.threshold},
          {"training", m.training},
          {"created_at", m.created_at},
          {"pneumoscan_version", m.pneumoscan_version},
          {"checksum", m.checksum_algorithm}};
}

ModelMetadata metadata_from_json(const nlohmann::json& json, const std::string& source) {
  ModelMetadata m;
  try {
    if (json.at("format").get<std::string>() != "pneumoscan-model")
      throw ModelFileError(source, "not a PneumoScan model file");
    m.format_version = json.at("format_version").get<int>();
    if (m.format_version > kModelFormatVersion)
      throw ModelFileError(source, "model format " + std::to_string(m.format_version) +
                                       " is newer than this program reads (" +
                                       std::to_string(kModelFormatVersion) + "); upgrade pneumoscan");
    m.name = json.at("name").get<std::string>();
    m.spec.architecture = json.at("architecture").get<std::string>();
    m.spec.input_size = json.at("input_size").get<int64_t>();
    m.spec.in_channels = json.at("in_channels").get<int64_t>();
    m.spec.num_outputs = json.at("num_outputs").get<int64_t>();
    m.preprocess = preprocess_from_json(json.at("preprocess"), source);
    m.class_names = json.at("class_names").get<std::vector<std::string>>();
    m.threshold = json.at("threshold").get<double>();
    m.training = json.value("training", nlohmann::json::object());
    m.created_at = json.value("created_at", "");
    m.pneumoscan_version = json.value("pneumoscan_version", "");
    m.checksum_algorithm = json.value("checksum", "");
  } catch (const nlohmann::json::exception& e) {
    throw ModelFileError(source, std::string("bad metadata: ") + json_problem(e));
  }
  if (!m.checksum_algorithm.empty() && m.checksum_algorithm != kChecksumAlgorithm)
    throw ModelFileError(source, "unknown checksum algorithm '" + m.checksum_algorithm.substr(0, 40) + "'");
  try {
    find_architecture(m.spec.architecture);
  } catch (const UsageError& e) {
    throw ModelFileError(source, e.what());
  }
  if (m.preprocess.input_size != m.spec.input_size || m.preprocess.channels != m.spec.in_channels)
    throw ModelFileError(source, "preprocessing (" + std::to_string(m.preprocess.input_size) + " px, " +
                                     std::to_string(m.preprocess.channels) + " ch) does not match the network (" +
                                     std::to_string(m.spec.input_size) + " px, " +
                                     std::to_string(m.spec.in_channels) + " ch)");
  if (m.class_names != std::vector<std::string>(kClassNames.begin(), kClassNames.end()))
    throw ModelFileError(source, "class names must be NORMAL, PNEUMONIA in that order");
  if (m.spec.num_outputs != 1 && m.spec.num_outputs != 2)
    throw ModelFileError(source, "a pneumonia model has 1 (sigmoid) or 2 (softmax) outputs, not " +
                                     std::to_string(m.spec.num_outputs));
  if (!(m.threshold >= 0.0 && m.threshold <= 1.0))
    throw ModelFileError(source, "threshold must lie in [0, 1]");
  return m;
}

std::vector<std::pair<std::string, torch::Tensor>> state_dict(torch::nn::Module& module) {
  std::vector<std::pair<std::string, torch::Tensor>> entries;
  for (const auto& item : module.named_parameters()) entries.emplace_back(item.key(), item.value());
  for (const auto& item : module.named_buffers()) entries.emplace_back(item.key(), item.value());
  return entries;
}

void load_state_dict(torch::nn::Module& module, const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                     const std::string& source) {
  std::map<std::string, torch::Tensor> given(tensors.begin(), tensors.end());
  torch::NoGradGuard no_grad;
  for (auto& [name, target] : state_dict(module)) {
    auto found = given.find(name);
    if (found == given.end()) throw ModelFileError(source, "weights lack '" + name + "'");
    if (found->second.sizes() != target.sizes()) {
      std::ostringstream message;
      message << "weight '" << name << "' has shape " << found->second.sizes() << ", the network expects "
              << target.sizes();
      throw ModelFileError(source, message.str());
    }
    target.copy_(found->second);
    given.erase(found);
  }
  if (!given.empty())
    throw ModelFileError(source, "unexpected weight '" + given.begin()->first + "' (" +
                                     std::to_string(given.size()) + " not used by the network)");
}

void save_model(const std::string& path, const ModelMetadata& metadata_in, ClassifierImpl& net) {
  ModelMetadata metadata = metadata_in;
  if (metadata.created_at.empty()) metadata.created_at = utc_now();
  metadata.checksum_algorithm = kChecksumAlgorithm;
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  c10::Dict<std::string, torch::Tensor> weights;
  for (auto& [name, tensor] : state_dict(net)) {
    tensors.emplace_back(name, tensor.detach().to(torch::kCPU).contiguous().clone());
    weights.insert(name, tensors.back().second);
  }
  const std::string metadata_text = to_json(metadata).dump();
  torch::serialize::OutputArchive archive;
  archive.write(kMetadataKey, c10::IValue(metadata_text));
  archive.write(kWeightsKey, c10::IValue(weights));
  archive.write(kChecksumKey, c10::IValue(weights_checksum(metadata_text, tensors)));
  write_atomically(path, [&](const std::string& tmp) {
    try {
      archive.save_to(tmp);
    } catch (const c10::Error& e) {
      throw IoError(path, std::string("cannot write model: ") + e.what_without_backtrace());
    }
  });
}

ModelMetadata read_model_metadata(const std::string& path) {
  return archive_errors_named(path, [&] {
    auto archive = open_archive(path);
    return parse_metadata(read_metadata_text(archive, path), path);
  });
}

LoadedModel load_model(const std::string& path, c10::Device device) {
  return archive_errors_named(path, [&] {
    auto archive = open_archive(path);
    LoadedModel loaded;
    const std::string metadata_text = read_metadata_text(archive, path);
    loaded.metadata = parse_metadata(metadata_text, path);
    const auto tensors = read_weights(archive, path);
    check_weight_records(path, tensors);  // before any weight byte is read
    // A file is taken for one written before checksums only when neither its
    // metadata nor its archive mentions one (a flipped bit cannot remove both).
    c10::IValue stored;
    const bool has_checksum = archive.try_read(kChecksumKey, stored);
    if (!has_checksum && loaded.metadata.checksum_algorithm.empty()) {
      loaded.integrity_warning =
          "no checksum (written before PneumoScan checked model files): damage to it cannot be detected";
    } else {
      if (!has_checksum || !stored.isString())
        throw ModelFileError(path, "checksum missing: the file is damaged");
      loaded.checksum = weights_checksum(metadata_text, tensors);
      if (stored.toStringRef() != loaded.checksum)
        throw ModelFileError(path, "checksum mismatch: the file is damaged");
    }
    check_weights_finite(path, tensors);
    loaded.net = create_model(loaded.metadata.spec);
    load_state_dict(*loaded.net, tensors, path);
    loaded.net->to(device);
    loaded.net->eval();
    return loaded;
  });
}

}  // namespace pneumoscan
