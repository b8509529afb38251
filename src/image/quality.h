#pragma once
// Per-image quality measures used by dataset QC and EDA.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "image/image.h"

namespace pneumoscan {

struct ImageQuality {
  int width = 0, height = 0;
  // Intensity statistics of the decoded image, in [0, 1] units.
  double mean = 0, stddev = 0, min = 0, max = 0;
  // Sharpness: variance of the 3x3 Laplacian of the image resized (INTER_AREA)
  // to kQualityWorkingWidth px wide (aspect kept), in 8-bit scale (0..255).
  // Low = blurry. Independent of the original resolution.
  double laplacian_variance = 0;
  // FNV-1a 64 of the 8-bit pixels (to_u8) followed by width and height (int32,
  // little-endian): equal for files with identical pixels, whatever their bytes.
  uint64_t pixel_hash = 0;
};

inline constexpr int kQualityWorkingWidth = 256;

ImageQuality measure_quality(const Image& image);

// The outcome of decoding and measuring one file.
struct ImageScan {
  std::string path;
  bool ok = false;
  std::string error;  // InputError's message when !ok (starts with the path)
  ImageQuality quality;
  std::string format;
  int bits_stored = 0;
  std::optional<DicomInfo> dicom;
};

// Decodes and measures every path with `threads` worker threads (0 = one per
// core). Results are in the order of `paths`. `progress(done, total)`, when set,
// is called from worker threads (serialised) after each file.
std::vector<ImageScan> scan_images(const std::vector<std::string>& paths, int threads = 0,
                                   const std::function<void(size_t, size_t)>& progress = {});

}  // namespace pneumoscan
