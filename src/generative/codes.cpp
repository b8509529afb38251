#include "generative/codes.h"

#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>
#include <torch/torch.h>

#include <nlohmann/json.hpp>
#include <unordered_map>

#include "core/errors.h"
#include "core/hash.h"
#include "core/json_text.h"
#include "core/timing.h"
#include "data/loader.h"
#include "generative/data.h"
#include "model_file/archive.h"
#include "models/classifier.h"
#include "models/torch_archive.h"
#include "models/weights_hash.h"

namespace pneumoscan {
namespace {

constexpr const char* kMetadataKey = "pneumoscan_codes";
constexpr const char* kCodesKey = "codes";

nlohmann::json sample_json(const Sample& s) {
  return {{"path", s.path},
          {"label", s.label},
          {"patient", s.patient},
          {"split", s.split},
          {"type", s.pneumonia_type}};
}

Sample sample_from_json(const nlohmann::json& j) {
  Sample s;
  s.path = j.at("path").get<std::string>();
  s.label = j.at("label").get<int>();
  s.patient = j.at("patient").get<std::string>();
  s.split = j.at("split").get<std::string>();
  s.pneumonia_type = j.at("type").get<std::string>();
  return s;
}

}  // namespace

std::string encoder_fingerprint(AutoencoderImpl& net, const PreprocessConfig& preprocess) {
  const std::string text =
      nlohmann::json{{"preprocess", to_json(preprocess)}, {"encoder", "autoencoder"}}.dump();
  return hex64(hash_weights(*net.encoder, fnv1a64(text.data(), text.size())));
}

CodeSet encode_samples(AutoencoderImpl& net, const PreprocessConfig& preprocess,
                       const std::string& autoencoder_path, const std::vector<Sample>& samples, int threads,
                       int batch_size, std::vector<std::string>& failures,
                       const std::function<void(size_t, size_t)>& progress) {
  const ImageCache cache(samples, preprocess, threads);
  failures = cache.failures();
  const EvalModeGuard eval_mode(net);
  torch::NoGradGuard no_grad;
  BatchStream stream(cache, plain_batches(batch_size, false), 0);
  std::vector<torch::Tensor> parts;
  size_t done = 0;
  while (auto batch = stream.next()) {
    parts.push_back(net.encode(batch->images).to(torch::kHalf).contiguous());
    done += static_cast<size_t>(batch->images.size(0));
    if (progress) progress(done, cache.size());
  }
  CodeSet result;
  const auto shape = code_shape(net.options);
  result.codes =
      parts.empty() ? torch::empty({0, shape[0], shape[1], shape[2]}, torch::kHalf) : torch::cat(parts);
  result.samples = cache.samples();
  result.encoder_fingerprint = encoder_fingerprint(net, preprocess);
  result.autoencoder_path = autoencoder_path;
  result.preprocess = preprocess;
  return result;
}

void write_codes(const std::string& path, const CodeSet& codes) {
  nlohmann::json samples = nlohmann::json::array();
  for (const auto& s : codes.samples) samples.push_back(sample_json(s));
  const nlohmann::json metadata = {{"format", "pneumoscan-codes"},
                                   {"format_version", 1},
                                   {"encoder_fingerprint", codes.encoder_fingerprint},
                                   {"autoencoder", codes.autoencoder_path},
                                   {"preprocess", to_json(codes.preprocess)},
                                   {"shape", codes.codes.sizes().vec()},
                                   {"created_at", utc_now()},
                                   {"samples", samples}};
  torch::serialize::OutputArchive archive;
  archive.write(kMetadataKey, c10::IValue(json_text(metadata)));
  archive.write(kCodesKey, codes.codes.to(torch::kHalf).contiguous());
  save_archive(archive, path);
}

CodeSet read_codes(const std::string& path, const std::string& expected_fingerprint,
                   const std::string& expected_source) {
  // Read as data: the archive's code is never compiled (models/torch_archive.h).
  const c10::IValue archive =
      read_archive_value(path, "code file", "cannot read code file (not a PneumoScan code file)");
  const c10::IValue value = archive_attribute(archive, kMetadataKey);
  if (!value.isString()) throw ModelFileError(path, "not a PneumoScan code file (no code metadata)");
  CodeSet result;
  std::vector<int64_t> shape;
  try {
    const nlohmann::json metadata = nlohmann::json::parse(value.toStringRef());
    if (metadata.at("format") != "pneumoscan-codes") throw ModelFileError(path, "not a PneumoScan code file");
    if (metadata.at("format_version").get<int>() > 1)
      throw ModelFileError(path, "code file is newer than this program reads; upgrade pneumoscan");
    result.encoder_fingerprint = metadata.at("encoder_fingerprint").get<std::string>();
    result.autoencoder_path = metadata.at("autoencoder").get<std::string>();
    result.preprocess = preprocess_from_json(metadata.at("preprocess"), path);
    shape = metadata.at("shape").get<std::vector<int64_t>>();
    for (const auto& s : metadata.at("samples")) result.samples.push_back(sample_from_json(s));
  } catch (const nlohmann::json::exception& e) {
    throw ModelFileError(path, std::string("damaged code file: ") + json_problem(e));
  }
  if (!expected_fingerprint.empty() && expected_fingerprint != result.encoder_fingerprint)
    throw ModelFileError(path, "codes made by encoder " + result.encoder_fingerprint + " (" +
                                   result.autoencoder_path + "), not by " + expected_source + "'s encoder " +
                                   expected_fingerprint +
                                   "; encode the data again with `pneumoscan autoencoder encode`");
  const c10::IValue codes = archive_attribute(archive, kCodesKey);
  if (!codes.isTensor()) throw ModelFileError(path, "code file has no codes");
  result.codes = codes.toTensor();
  // read_archive_value has checked they lie inside their record.
  if (!result.codes.is_contiguous() || result.codes.scalar_type() != torch::kHalf ||
      result.codes.sizes().vec() != shape || shape.size() != 4 ||
      shape[0] != static_cast<int64_t>(result.samples.size()))
    throw ModelFileError(path, "damaged code file (codes do not match their description)");
  if (!torch::isfinite(result.codes).all().item<bool>())
    throw ModelFileError(path, "code file holds non-finite codes");
  return result;
}

torch::Tensor codes_for(const CodeSet& codes, const std::vector<Sample>& samples,
                        const std::string& codes_path) {
  std::unordered_map<std::string, int64_t> row;
  for (size_t i = 0; i < codes.samples.size(); ++i)
    row.emplace(codes.samples[i].path, static_cast<int64_t>(i));
  std::vector<int64_t> rows;
  for (const auto& s : samples) {
    const auto found = row.find(s.path);
    if (found == row.end())
      throw ModelFileError(codes_path, "has no code for " + s.path + "; encode the data you train on");
    rows.push_back(found->second);
  }
  return codes.codes.index_select(0, torch::tensor(rows, torch::kInt64));
}

}  // namespace pneumoscan
