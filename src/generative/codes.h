#pragma once
// Autoencoder codes of a data set in one compact file: the encoder's output
// for every image as float16 [N, 256, 14, 14] (at 224 px), with each image's
// label, patient, split, path and pneumonia type, and the fingerprint of the
// encoder that made them (its weights and input preparation). Written
// atomically (a LibTorch archive: metadata JSON + the codes tensor); read
// back validated, and refused when they come from another encoder.
#include <torch/types.h>

#include <functional>
#include <string>
#include <vector>

#include "data/sample.h"
#include "image/preprocess.h"
#include "models/autoencoder.h"

namespace pneumoscan {

struct CodeSet {
  torch::Tensor codes;          // float16 [N, C, h, w], CPU
  std::vector<Sample> samples;  // one per row of `codes`
  std::string encoder_fingerprint;
  std::string autoencoder_path;  // the file the encoder came from, as given to encode
  PreprocessConfig preprocess;   // the encoder's input preparation
};

// FNV-1a 64 (16 hex digits) of the input preparation and the encoder's weights (decoder excluded).
std::string encoder_fingerprint(AutoencoderImpl& net, const PreprocessConfig& preprocess);

// Codes of every readable sample (unreadable ones are listed in `failures` as
// "path: problem" and left out), `batch_size` images at a time, on `threads`
// decoding threads; `progress(done, total)` after each batch.
CodeSet encode_samples(AutoencoderImpl& net, const PreprocessConfig& preprocess,
                       const std::string& autoencoder_path, const std::vector<Sample>& samples, int threads,
                       int batch_size, std::vector<std::string>& failures,
                       const std::function<void(size_t, size_t)>& progress = nullptr);

// IoError naming the file when it cannot be written.
void write_codes(const std::string& path, const CodeSet& codes);

// Throws ModelFileError naming `path` when it is not a code file, is
// damaged (shape, type, row count, non-finite codes), or, when
// `expected_fingerprint` is not empty, was made by another encoder ("codes
// made by encoder X, not by <expected_source>'s Y; encode again").
CodeSet read_codes(const std::string& path, const std::string& expected_fingerprint = "",
                   const std::string& expected_source = "");

// The rows of `codes` for `samples`, matched by path (float16 [n, C, h, w]);
// ModelFileError naming `codes_path` for a sample it has no code for.
torch::Tensor codes_for(const CodeSet& codes, const std::vector<Sample>& samples,
                        const std::string& codes_path);

}  // namespace pneumoscan
