#include "model_file/generative_file.h"

#include "core/errors.h"
#include "core/json_text.h"
#include "core/timing.h"
#include "model_file/archive.h"
#include "model_file/integrity.h"

namespace pneumoscan {
namespace {

PreprocessConfig fixed_preprocess(int64_t size, int64_t channels, float mean, float std) {
  PreprocessConfig config;
  config.input_size = static_cast<int>(size);
  config.channels = static_cast<int>(channels);
  config.normalization = Normalization::kFixed;
  config.mean = {mean};
  config.std = {std};
  return config;
}

nlohmann::json to_json(const GenerativeMetadata& m, const nlohmann::json& network) {
  return {{"format", "pneumoscan-model"},
          {"format_version", 1},
          {"kind", m.kind},
          {"name", m.name},
          {"network", network},
          {"preprocess", to_json(m.preprocess)},
          {"label", m.label},
          {"training", m.training},
          {"created_at", m.created_at.empty() ? utc_now() : m.created_at},
          {"pneumoscan_version", m.pneumoscan_version},
          {"checksum", kChecksumAlgorithm}};
}

// The network options as the metadata stores them.
nlohmann::json network_json(const AutoencoderOptions& o) {
  return {{"input_size", o.input_size}, {"in_channels", o.in_channels}, {"widths", o.widths}};
}
nlohmann::json network_json(const DcganOptions& o) {
  return {
      {"image_size", o.image_size}, {"noise_dim", o.noise_dim}, {"width", o.width}, {"channels", o.channels}};
}

// The verified archive and its metadata, refused unless it holds `kind`.
struct Read {
  GenerativeMetadata metadata;
  nlohmann::json network;
  NetworkArchive archive;
};

Read read_kind(const std::string& path, const std::string& kind) {
  Read read;
  read.archive = read_network_archive(path, [&](const std::string& text) {
    try {
      const nlohmann::json json = nlohmann::json::parse(text);
      if (json.at("format").get<std::string>() != "pneumoscan-model")
        throw ModelFileError(path, "not a PneumoScan model file");
      const std::string found = json.value("kind", "classifier");
      if (found != kind)
        throw ModelFileError(path, "is a " + found.substr(0, 40) + " file, not " +
                                       (kind == kAutoencoderKind ? "an " : "a ") + kind);
      if (json.at("format_version").get<int>() > 1)
        throw ModelFileError(path,
                             "this " + kind + " file is newer than this program reads; upgrade pneumoscan");
      GenerativeMetadata& m = read.metadata;
      m.kind = found;
      m.name = json.at("name").get<std::string>();
      m.preprocess = preprocess_from_json(json.at("preprocess"), path);
      m.label = json.value("label", "");
      m.training = json.value("training", nlohmann::json::object());
      m.created_at = json.value("created_at", "");
      m.pneumoscan_version = json.value("pneumoscan_version", "");
      read.network = json.at("network");
      return true;
    } catch (const nlohmann::json::exception& e) {
      throw ModelFileError(path, std::string("bad metadata: ") + json_problem(e));
    }
  });
  return read;
}

template <typename Loaded, typename Net>
Loaded finish(const std::string& path, Read& read, Net net) {
  return archive_errors_named(path, [&] {
    load_state_dict(*net, read.archive.tensors, path);
    net->eval();
    return Loaded{read.metadata, net, read.archive.checksum};
  });
}

}  // namespace

PreprocessConfig autoencoder_preprocess(int64_t size, int64_t channels) {
  return fixed_preprocess(size, channels, 0.0f, 1.0f);
}

PreprocessConfig generator_preprocess(int64_t size, int64_t channels) {
  return fixed_preprocess(size, channels, 0.5f, 0.5f);
}

void save_autoencoder(const std::string& path, GenerativeMetadata metadata, AutoencoderImpl& net) {
  metadata.kind = kAutoencoderKind;
  write_network_archive(path, json_text(to_json(metadata, network_json(net.options))), net);
}

void save_generator(const std::string& path, GenerativeMetadata metadata, GeneratorImpl& net) {
  metadata.kind = kGeneratorKind;
  write_network_archive(path, json_text(to_json(metadata, network_json(net.options))), net);
}

LoadedAutoencoder load_autoencoder(const std::string& path) {
  Read read = read_kind(path, kAutoencoderKind);
  AutoencoderOptions options;
  try {
    options.input_size = read.network.at("input_size").get<int64_t>();
    options.in_channels = read.network.at("in_channels").get<int64_t>();
    options.widths = read.network.at("widths").get<std::vector<int64_t>>();
  } catch (const nlohmann::json::exception& e) {
    throw ModelFileError(path, std::string("bad autoencoder options: ") + json_problem(e));
  }
  if (read.metadata.preprocess.input_size != options.input_size ||
      read.metadata.preprocess.channels != options.in_channels)
    throw ModelFileError(path, "preprocessing does not match the autoencoder's input");
  return finish<LoadedAutoencoder>(path, read, Autoencoder(options));
}

LoadedGenerator load_generator(const std::string& path) {
  Read read = read_kind(path, kGeneratorKind);
  DcganOptions options;
  try {
    options.image_size = read.network.at("image_size").get<int64_t>();
    options.noise_dim = read.network.at("noise_dim").get<int64_t>();
    options.width = read.network.at("width").get<int64_t>();
    options.channels = read.network.at("channels").get<int64_t>();
    check_dcgan_options(options);
  } catch (const nlohmann::json::exception& e) {
    throw ModelFileError(path, std::string("bad generator options: ") + json_problem(e));
  } catch (const UsageError& e) {
    throw ModelFileError(path, e.what());
  }
  return finish<LoadedGenerator>(path, read, Generator(options));
}

std::string generative_kind(const std::string& path) {
  try {
    const nlohmann::json json = nlohmann::json::parse(read_network_metadata(path));
    const std::string kind = json.value("kind", "classifier");
    return kind == kAutoencoderKind || kind == kGeneratorKind ? kind : "";
  } catch (const std::exception&) {
    return "";  // not readable as one: the classifier loader says why
  }
}

nlohmann::json generative_info(const std::string& path) {
  GenerativeMetadata metadata;
  nlohmann::json network;
  std::string checksum;
  int64_t parameters = 0;
  const auto count = [&](const std::vector<torch::Tensor>& tensors) {
    for (const torch::Tensor& p : tensors) parameters += p.numel();
  };
  if (generative_kind(path) == kAutoencoderKind) {
    const LoadedAutoencoder loaded = load_autoencoder(path);
    metadata = loaded.metadata;
    network = network_json(loaded.net->options);
    checksum = loaded.checksum;
    count(loaded.net->parameters());
  } else {
    const LoadedGenerator loaded = load_generator(path);
    metadata = loaded.metadata;
    network = network_json(loaded.net->options);
    checksum = loaded.checksum;
    count(loaded.net->parameters());
  }
  nlohmann::json info = to_json(metadata, network);
  info.erase("checksum");  // the algorithm's name; the value is under integrity
  info["parameters"] = parameters;
  info["integrity"] = checksum.empty() ? nlohmann::json{{"verified", false},
                                                        {"warning", "no checksum (written before checksums)"}}
                                       : nlohmann::json{{"verified", true}, {"checksum", checksum}};
  return info;
}

}  // namespace pneumoscan
