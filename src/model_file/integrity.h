#pragma once
// Model file integrity (used by model_file.cpp): a checksum over the metadata
// and every weight, and checks that each weight's bytes are really in the file
// before anything reads them. LibTorch reads neither zip CRCs nor record
// lengths: a flipped bit loads silently, a record cut short is read past its end.
#include <torch/types.h>

#include <string>
#include <utility>
#include <vector>

namespace pneumoscan {

// The checksum algorithm named in the metadata ("checksum" field).
inline constexpr const char* kChecksumAlgorithm = "fnv1a64";

// FNV-1a 64 (core/hash.h), as 16 hex digits, of: the metadata JSON text, then
// for each tensor in name order its name, dtype, sizes and raw bytes. Tensors
// must be CPU tensors whose bytes are present: for loaded ones,
// read_archive_value (models/torch_archive.h) has checked each lies in its record.
std::string weights_checksum(const std::string& metadata_json,
                             const std::vector<std::pair<std::string, torch::Tensor>>& tensors);

// Throws ModelFileError(path, ...) unless every tensor is a float32 or int64
// CPU tensor, what save_model writes. (read_archive_value, models/torch_archive.h,
// has checked that each lies inside its record.)
void check_weight_types(const std::string& path,
                        const std::vector<std::pair<std::string, torch::Tensor>>& tensors);

// Throws ModelFileError(path, ...) naming the first floating-point weight
// holding NaN or infinity.
void check_weights_finite(const std::string& path,
                          const std::vector<std::pair<std::string, torch::Tensor>>& tensors);

}  // namespace pneumoscan
