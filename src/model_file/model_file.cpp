#include "model_file/model_file.h"

#include <algorithm>
#include <cmath>

#include "core/errors.h"
#include "core/json_text.h"
#include "core/timing.h"
#include "data/sample.h"
#include "model_file/archive.h"
#include "model_file/integrity.h"
#include "models/ensemble.h"

namespace pneumoscan {
namespace {

ModelMetadata parse_metadata(const std::string& text, const std::string& path) {
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception&) {
    throw ModelFileError(path, "damaged model file (its metadata is not valid JSON)");
  }
  return metadata_from_json(json, path);
}

int64_t total_values(const NamedTensors& tensors) {
  int64_t values = 0;
  for (const auto& [name, tensor] : tensors)
    if (name != kOodReferenceKey) values += tensor.numel();
  return values;
}

// An ensemble's weights are its members' weights, so the file must hold
// exactly the sum of its members' values: checked as each member is built
// (for members of one architecture, on the first), before the rest are.
class EnsembleWeightsCheck {
 public:
  EnsembleWeightsCheck(const ModelMetadata& metadata, const NamedTensors& stored, std::string path)
      : metadata_(metadata), held_(total_values(stored)), path_(std::move(path)) {}

  void operator()(ClassifierImpl& member, size_t index) {
    const int64_t values = total_values(state_dict(member));
    const bool last = index + 1 == static_cast<size_t>(metadata_.ensemble_size);
    if (metadata_.members.empty()) {
      if (values * metadata_.ensemble_size != held_) refuse(values * metadata_.ensemble_size);
      return;
    }
    built_ += values;
    if (built_ > held_ || (last && built_ != held_)) refuse(last ? built_ : -1);
  }

 private:
  [[noreturn]] void refuse(int64_t needed) const {
    const std::string networks = metadata_.members.empty() ? std::to_string(metadata_.ensemble_size) + " x " +
                                                                 metadata_.spec.architecture
                                                           : architecture_summary(metadata_);
    throw ModelFileError(path_, "its weights (" + std::to_string(held_) +
                                    " values) are not those of the ensemble it describes (" + networks +
                                    " at " + std::to_string(metadata_.spec.input_size) + " px" +
                                    (needed >= 0 ? ": " + std::to_string(needed) + " values)" : ")"));
  }

  const ModelMetadata& metadata_;
  int64_t held_;
  int64_t built_ = 0;
  std::string path_;
};

nlohmann::json member_json(const EnsembleMember& member) {
  return {{"architecture", member.spec.architecture},
          {"input_size", member.spec.input_size},
          {"in_channels", member.spec.in_channels},
          {"num_outputs", member.spec.num_outputs},
          {"preprocess", to_json(member.preprocess)}};
}

// Where an ensemble's members differ: each must be a known network fed as its
// preprocessing says, with the ensemble's outputs, reachable from the
// ensemble's input (member_input_adapter).
void check_members(const ModelMetadata& m, const std::string& source) {
  if (m.members.empty()) return;
  if (static_cast<int64_t>(m.members.size()) != m.ensemble_size || m.ensemble_size < 2)
    throw ModelFileError(source, "describes " + std::to_string(m.members.size()) +
                                     " members for an ensemble of " + std::to_string(m.ensemble_size));
  for (size_t i = 0; i < m.members.size(); ++i) {
    const EnsembleMember& member = m.members[i];
    const std::string which = "member " + std::to_string(i) + ": ";
    try {
      find_architecture(member.spec.architecture);
      if (member.preprocess.input_size != member.spec.input_size ||
          member.preprocess.channels != member.spec.in_channels)
        throw UsageError("its preprocessing does not match its network");
      if (member.spec.num_outputs != m.spec.num_outputs)
        throw UsageError("its " + std::to_string(member.spec.num_outputs) +
                         " outputs differ from the ensemble's " + std::to_string(m.spec.num_outputs));
      member_input_adapter(m.preprocess, member.preprocess);
    } catch (const UsageError& e) {
      throw ModelFileError(source, which + e.what());
    }
  }
}

}  // namespace

int required_format_version(const ModelMetadata& m) {
  if (!m.members.empty()) return 4;
  if (m.intended_use.population.stated() || m.intended_use.ood.present()) return 3;
  return has_per_channel_normalization(m.preprocess) ? 2 : 1;
}

std::string architecture_summary(const ModelMetadata& m) {
  if (m.members.empty()) return m.spec.architecture;
  std::vector<std::pair<std::string, int>> counts;
  for (const EnsembleMember& member : m.members) {
    auto found = std::find_if(counts.begin(), counts.end(),
                              [&](const auto& c) { return c.first == member.spec.architecture; });
    if (found == counts.end())
      counts.emplace_back(member.spec.architecture, 1);
    else
      ++found->second;
  }
  std::string text;
  for (const auto& [architecture, count] : counts)
    text += (text.empty() ? "" : " + ") + architecture + (count > 1 ? " x" + std::to_string(count) : "");
  return text;
}

InputAdapter member_input_adapter(const PreprocessConfig& ensemble, const PreprocessConfig& member) {
  if (to_json(ensemble) == to_json(member)) return {};
  if (ensemble.input_size != member.input_size)
    throw UsageError("its input size " + std::to_string(member.input_size) +
                     " px differs from the ensemble's " + std::to_string(ensemble.input_size) + " px");
  if (ensemble.normalization != Normalization::kFixed || member.normalization != Normalization::kFixed)
    throw UsageError("its normalisation (" + to_string(member.normalization) +
                     ") differs from the ensemble's (" + to_string(ensemble.normalization) +
                     ") and only fixed normalisations can be mapped onto one another");
  const auto value = [](const std::vector<float>& v, size_t c) { return v.size() == 1 ? v[0] : v.at(c); };
  InputAdapter adapter;
  for (size_t c = 0; c < static_cast<size_t>(member.channels); ++c) {
    // Ensemble channel s holds (x - me[s]) / se[s] of the gray pixel x; the member wants (x - mm[c]) / sm[c].
    const size_t s = std::min(c, static_cast<size_t>(ensemble.channels) - 1);
    const float se = value(ensemble.std, s), me = value(ensemble.mean, s);
    const float sm = value(member.std, c), mm = value(member.mean, c);
    adapter.scale.push_back(se / sm);
    adapter.shift.push_back((me - mm) / sm);
  }
  return adapter;
}

nlohmann::json to_json(const ModelMetadata& m) {
  nlohmann::json members = nlohmann::json::array();
  for (const EnsembleMember& member : m.members) members.push_back(member_json(member));
  nlohmann::json json = {{"format", "pneumoscan-model"},
                         {"format_version", required_format_version(m)},
                         {"name", m.name},
                         {"architecture", m.spec.architecture},
                         {"input_size", m.spec.input_size},
                         {"in_channels", m.spec.in_channels},
                         {"num_outputs", m.spec.num_outputs},
                         {"preprocess", to_json(m.preprocess)},
                         {"class_names", m.class_names},
                         {"threshold", m.threshold},
                         {"ensemble_size", m.ensemble_size},
                         {"temperature", m.temperature},
                         {"class_bias", m.class_bias},
                         {"calibration", m.calibration},
                         {"training", m.training},
                         {"intended_use", to_json(m.intended_use)},
                         {"created_at", m.created_at},
                         {"pneumoscan_version", m.pneumoscan_version},
                         {"checksum", m.checksum_algorithm}};
  if (!m.members.empty()) json["members"] = members;
  return json;
}

ModelMetadata metadata_from_json(const nlohmann::json& json, const std::string& source) {
  ModelMetadata m;
  try {
    if (json.at("format").get<std::string>() != "pneumoscan-model")
      throw ModelFileError(source, "not a PneumoScan model file");
    const std::string kind = json.value("kind", "classifier");
    if (kind != "classifier")
      throw ModelFileError(source, (kind == "autoencoder" ? "is an " : "is a ") + kind.substr(0, 40) +
                                       " file, not a classifier (use it with `pneumoscan " +
                                       (kind == "autoencoder" ? "autoencoder" : "gan") + "`)");
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
    m.ensemble_size = json.value("ensemble_size", 1);
    m.temperature = json.value("temperature", 1.0);
    m.class_bias = json.value("class_bias", std::vector<double>{});
    m.calibration = json.value("calibration", nlohmann::json::object());
    m.training = json.value("training", nlohmann::json::object());
    m.intended_use = intended_use_from_json(json.value("intended_use", nlohmann::json::object()), source);
    m.created_at = json.value("created_at", "");
    m.pneumoscan_version = json.value("pneumoscan_version", "");
    m.checksum_algorithm = json.value("checksum", "");
    for (const auto& member : json.value("members", nlohmann::json::array())) {
      EnsembleMember described;
      described.spec.architecture = member.at("architecture").get<std::string>();
      described.spec.input_size = member.at("input_size").get<int64_t>();
      described.spec.in_channels = member.at("in_channels").get<int64_t>();
      described.spec.num_outputs = member.at("num_outputs").get<int64_t>();
      described.preprocess = preprocess_from_json(member.at("preprocess"), source);
      m.members.push_back(std::move(described));
      if (m.members.size() > 64) throw ModelFileError(source, "describes more than 64 ensemble members");
    }
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
                                     std::to_string(m.preprocess.channels) +
                                     " ch) does not match the network (" + std::to_string(m.spec.input_size) +
                                     " px, " + std::to_string(m.spec.in_channels) + " ch)");
  try {
    if (validate_class_names(m.class_names) != m.class_names)
      throw UsageError("class names must be upper case");
  } catch (const UsageError& e) {
    throw ModelFileError(source, e.what());
  }
  const int64_t classes = static_cast<int64_t>(m.class_names.size());
  if (classes == 2 ? (m.spec.num_outputs != 1 && m.spec.num_outputs != 2) : m.spec.num_outputs != classes)
    throw ModelFileError(source, std::to_string(classes) + " classes do not fit a network with " +
                                     std::to_string(m.spec.num_outputs) + " outputs");
  if (!(m.threshold >= 0.0 && m.threshold <= 1.0))
    throw ModelFileError(source, "threshold must lie in [0, 1]");
  if (m.ensemble_size < 1 || m.ensemble_size > 64)
    throw ModelFileError(source, "ensemble size must lie in [1, 64], not " + std::to_string(m.ensemble_size));
  if (!(m.temperature > 0.01 && m.temperature < 100))
    throw ModelFileError(source, "temperature must lie in (0.01, 100)");
  const size_t outputs =
      m.ensemble_size > 1 && m.spec.num_outputs == 1 ? 2 : static_cast<size_t>(m.spec.num_outputs);
  if (!m.class_bias.empty() && m.class_bias.size() != outputs)
    throw ModelFileError(source, "class bias has " + std::to_string(m.class_bias.size()) + " values for " +
                                     std::to_string(outputs) + " outputs");
  for (double b : m.class_bias)
    if (!(std::abs(b) < 100)) throw ModelFileError(source, "class bias values must be finite and below 100");
  check_members(m, source);
  return m;
}

void save_model(const std::string& path, const ModelMetadata& metadata_in, ClassifierImpl& net,
                const torch::Tensor& ood_reference) {
  ModelMetadata metadata = metadata_in;
  const OodReference& ood = metadata.intended_use.ood;
  if (ood_reference.defined() != ood.present() ||
      (ood_reference.defined() && (ood_reference.dim() != 2 || ood_reference.size(0) != ood.references ||
                                   ood_reference.size(1) != ood.dimension)))
    throw UsageError(path + ": the out-of-distribution reference does not match its description");
  if (metadata.created_at.empty()) metadata.created_at = utc_now();
  metadata.checksum_algorithm = kChecksumAlgorithm;
  NamedTensors extra;
  if (ood_reference.defined()) extra.emplace_back(kOodReferenceKey, ood_reference);
  write_network_archive(path, json_text(to_json(metadata)), net, extra);
}

Classifier create_network(const ModelMetadata& metadata,
                          const std::function<void(ClassifierImpl& member, size_t index)>& check_member) {
  Classifier net;
  if (metadata.ensemble_size == 1) {
    net = create_model(metadata.spec);
  } else {
    std::vector<Classifier> members;
    std::vector<InputAdapter> adapters;
    for (size_t i = 0; i < static_cast<size_t>(metadata.ensemble_size); ++i) {
      const bool described = !metadata.members.empty();
      members.push_back(create_model(described ? metadata.members.at(i).spec : metadata.spec));
      adapters.push_back(described ? member_input_adapter(metadata.preprocess, metadata.members[i].preprocess)
                                   : InputAdapter{});
      if (check_member) check_member(*members.back(), i);
    }
    net =
        Ensemble(std::move(members), metadata.spec.in_channels, metadata.spec.input_size, std::move(adapters))
            .ptr();
  }
  net->set_temperature(metadata.temperature);
  net->set_class_bias(metadata.class_bias);
  return net;
}

ModelMetadata read_model_metadata(const std::string& path) {
  return parse_metadata(read_network_metadata(path), path);
}

LoadedModel load_model(const std::string& path, c10::Device device) {
  LoadedModel loaded;
  const NetworkArchive archive = read_network_archive(path, [&](const std::string& text) {
    loaded.metadata = parse_metadata(text, path);
    return !loaded.metadata.checksum_algorithm.empty();
  });
  loaded.checksum = archive.checksum;
  loaded.integrity_warning = archive.integrity_warning;
  return archive_errors_named(path, [&] {
    try {
      EnsembleWeightsCheck check(loaded.metadata, archive.tensors, path);
      loaded.net = create_network(loaded.metadata,
                                  [&](ClassifierImpl& member, size_t index) { check(member, index); });
    } catch (const UsageError& e) {
      throw ModelFileError(path, e.what());
    }
    auto weights = archive.tensors;
    const auto reference = std::find_if(weights.begin(), weights.end(),
                                        [](const auto& entry) { return entry.first == kOodReferenceKey; });
    if (reference != weights.end()) {
      loaded.ood_reference = reference->second;
      weights.erase(reference);
    }
    const OodReference& ood = loaded.metadata.intended_use.ood;
    if (loaded.ood_reference.defined() != ood.present() ||
        (ood.present() &&
         (loaded.ood_reference.dim() != 2 || loaded.ood_reference.size(0) != ood.references ||
          loaded.ood_reference.size(1) != ood.dimension ||
          loaded.ood_reference.scalar_type() != torch::kFloat32)))
      throw ModelFileError(path, "the out-of-distribution reference does not match its description");
    load_state_dict(*loaded.net, weights, path);
    loaded.net->to(device);
    loaded.net->eval();
    return loaded;
  });
}

}  // namespace pneumoscan
