#pragma once
// Autoencoders and DCGAN generators in the same self-describing file as
// classifiers (archive.h: metadata JSON + weights + checksum, atomic,
// verified on load). The metadata says what the file holds ("kind"), the
// network's options and the input preparation, so a file is never used with
// another network or another preprocessing; classifier loaders refuse these
// files by kind (model_file.h).
#include <nlohmann/json.hpp>
#include <string>

#include "image/preprocess.h"
#include "models/autoencoder.h"
#include "models/dcgan.h"

namespace pneumoscan {

inline constexpr const char* kAutoencoderKind = "autoencoder";
inline constexpr const char* kGeneratorKind = "dcgan-generator";

struct GenerativeMetadata {
  std::string kind;  // kAutoencoderKind or kGeneratorKind
  std::string name;
  // The images the network sees: size, channels and the fixed normalisation
  // (autoencoder: [0, 1] pixels, mean 0 std 1; generator: [-1, 1], mean 0.5 std 0.5).
  PreprocessConfig preprocess;
  nlohmann::json training = nlohmann::json::object();  // data, epochs, losses, seconds, ...
  std::string label;  // generator: the class it was trained on (NORMAL or PNEUMONIA); "" otherwise
  std::string created_at;
  std::string pneumoscan_version = PNEUMOSCAN_VERSION;
};

// The preprocessing of an autoencoder / a generator of `size` px.
PreprocessConfig autoencoder_preprocess(int64_t size, int64_t channels = 1);
PreprocessConfig generator_preprocess(int64_t size, int64_t channels = 1);

void save_autoencoder(const std::string& path, GenerativeMetadata metadata, AutoencoderImpl& net);
void save_generator(const std::string& path, GenerativeMetadata metadata, GeneratorImpl& net);

struct LoadedAutoencoder {
  GenerativeMetadata metadata;
  Autoencoder net{nullptr};  // eval mode, CPU
  std::string checksum;
};
struct LoadedGenerator {
  GenerativeMetadata metadata;
  Generator net{nullptr};  // eval mode, CPU
  std::string checksum;
};

// Throw ModelFileError naming the file for anything load_model refuses, and
// for a file of another kind ("holds a classifier, not an autoencoder").
LoadedAutoencoder load_autoencoder(const std::string& path);
LoadedGenerator load_generator(const std::string& path);

// kAutoencoderKind or kGeneratorKind when the file's metadata says it holds
// one, "" for anything else (a classifier, or a file load_model will name
// the problem of). Reads the metadata only.
std::string generative_kind(const std::string& path);

// What `pneumoscan info` prints for an autoencoder or generator file, after
// loading and verifying it in full: kind, name, class, network options,
// parameters, input preparation, training summary, integrity. Throws
// ModelFileError naming the file.
nlohmann::json generative_info(const std::string& path);

}  // namespace pneumoscan
