#pragma once
// One model = one file: the weights plus everything needed to use them
// correctly (architecture, preprocessing, classes, threshold, training
// summary). Loading validates all of it against the weights and refuses a
// mismatch, so a model can never be run with the wrong preprocessing.
#include <c10/core/Device.h>
#include <torch/types.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "image/preprocess.h"
#include "model_file/intended_use.h"
#include "models/registry.h"
#include "models/state_dict.h"

namespace pneumoscan {

struct InputAdapter;  // models/ensemble.h

// The newest format this program reads. Files are written with the oldest
// version that can hold them (required_format_version), so older programs keep
// reading what they understand and refuse, by version, what they would misread.
// 2: per-channel normalisation mean/std (lists in "preprocess").
// 3: an intended use ("intended_use": population, out-of-distribution reference
//    stored beside the weights as kOodReferenceKey).
// 4: ensemble members that differ in architecture or input normalisation
//    ("members": one description each).
inline constexpr int kModelFormatVersion = 4;

// The name of the out-of-distribution reference embeddings among the stored
// tensors (not a weight of the network; covered by the checksum).
inline constexpr const char* kOodReferenceKey = "intended_use.ood_reference";

// One member of an ensemble whose members differ: its network and the input
// it was trained on.
struct EnsembleMember {
  ModelSpec spec;
  PreprocessConfig preprocess;
};

struct ModelMetadata {
  std::string name = "pneumoscan";  // human-readable model name
  ModelSpec spec;
  PreprocessConfig preprocess;
  // NORMAL first; {NORMAL, PNEUMONIA} or NORMAL and pneumonia types
  // ({NORMAL, BACTERIAL, VIRAL}, one output each; P(pneumonia) = 1 - P(NORMAL)).
  std::vector<std::string> class_names = {"NORMAL", "PNEUMONIA"};
  double threshold = 0.5;  // P(pneumonia) >= threshold -> PNEUMONIA
  // Members averaged in probability (models/ensemble.h); 1 = a single network.
  // `spec` and `preprocess` describe the ensemble's input and its first member.
  int ensemble_size = 1;
  // One per member when the members differ in architecture or normalisation
  // (format 4); empty = every member is `spec` fed as `preprocess`.
  std::vector<EnsembleMember> members;
  double temperature = 1.0;        // logits / temperature (calibration); 1 = none
  std::vector<double> class_bias;  // then + class_bias, one per output (calibration); empty = none
  // How the temperature and threshold were chosen (eval/calibration.h); empty when never calibrated.
  nlohmann::json calibration = nlohmann::json::object();
  nlohmann::json training = nlohmann::json::object();  // data, epochs, validation figures, ...
  IntendedUse intended_use;  // population and out-of-distribution reference; empty = not stated
  std::string created_at;    // ISO 8601 UTC
  std::string pneumoscan_version = PNEUMOSCAN_VERSION;
  int format_version = kModelFormatVersion;  // as read; to_json writes required_format_version
  // "fnv1a64" when the file carries a checksum of metadata and weights
  // (model_file/integrity.h; every file save_model writes), "" for files
  // written before checksums existed. Set by save_model, not by callers.
  std::string checksum_algorithm;
};

// The oldest model format that can hold `metadata` (1; 2 with per-channel
// normalisation; 3 with an intended use; 4 with differing members).
int required_format_version(const ModelMetadata& metadata);

// "mobilenet-v2", or for differing members each architecture with its count
// ("mobilenet-v2 x3 + resnet50-v1"): what provenance and reports name.
std::string architecture_summary(const ModelMetadata& metadata);

// What a member trained on input preprocessed as `member` does to input
// preprocessed as `ensemble` (models/ensemble.h): nothing when the two are the
// same; an exact per-channel affine map between two fixed normalisations of
// one size (the pixels are gray, so channels repeat). Throws UsageError saying
// why for any other pair (a per-image normalisation cannot be undone).
InputAdapter member_input_adapter(const PreprocessConfig& ensemble, const PreprocessConfig& member);

nlohmann::json to_json(const ModelMetadata& metadata);
// Validates every field; throws ModelFileError(source, ...).
ModelMetadata metadata_from_json(const nlohmann::json& json, const std::string& source);

struct LoadedModel {
  ModelMetadata metadata;
  Classifier net;                 // in eval mode, on the requested device
  std::string checksum;           // the verified checksum (16 hex digits); "" for a file without one
  std::string integrity_warning;  // "" when verified; else why damage could not be ruled out
  // [references, dimension] float32 unit vectors when metadata.intended_use.ood is present, else undefined.
  torch::Tensor ood_reference;
};

// The network `metadata` describes, with fresh weights: a registry network, or
// an Ensemble of `ensemble_size` of them (each with its own architecture and
// input adapter when `members` says so); its temperature set. For an
// ensemble, `check_member` (when given) sees each member, with its index, as
// soon as it is built, and may throw: load_model refuses there a file whose
// weights cannot be those of the ensemble it describes, so a few bytes of
// metadata cannot make it build 64 networks first.
Classifier create_network(const ModelMetadata& metadata,
                          const std::function<void(ClassifierImpl& member, size_t index)>& check_member = {});

// Writes atomically. Weights are stored contiguous and in float32, with a
// checksum over the metadata and every weight. `ood_reference` ([N, D], must
// match metadata.intended_use.ood's size; UsageError otherwise) is stored
// beside the weights when defined.
void save_model(const std::string& path, const ModelMetadata& metadata, ClassifierImpl& net,
                const torch::Tensor& ood_reference = {});

// Throws ModelFileError naming the file for: not a PneumoScan model, newer
// format, unknown architecture, inconsistent preprocessing, missing,
// unexpected or wrongly shaped weights, a weight whose data is missing or cut
// short in the file, NaN/infinite weights, and "checksum mismatch: the file is
// damaged". Files written before checksums (no "checksum" in their metadata,
// e.g. the bundled models/default.psmodel) load with `integrity_warning` set.
LoadedModel load_model(const std::string& path, c10::Device device = c10::Device(c10::kCPU));

// Metadata only (cheap; verifies nothing about the weights: use load_model).
ModelMetadata read_model_metadata(const std::string& path);

}  // namespace pneumoscan
