#pragma once
// Prepared images on disk, so a later run over the same files never decodes
// a JPEG again (training, evaluation, index building, the comparison study:
// each run used to decode every image; 5,216 training X-rays take minutes).
// Enabled by a folder: `--cache-dir DIR` (any command) or $PNEUMOSCAN_CACHE_DIR.
//
// One pack file per (list of files, preparation): its name is a hash of the
// preparation (model input size) and of every file's path, size and
// modification time, so an edited, replaced or added file makes a new pack.
// A pack holds a JSON header (size, count, the files that failed to decode
// and why, a checksum of the pixels) and the 8-bit model-size images, read
// through a read-only memory map: nothing is copied, the kernel pages them in
// as batches touch them. A damaged pack (size or checksum) is ignored and
// rewritten, never used.
#include <cstddef>
#include <memory>
#include <opencv2/core.hpp>
#include <optional>
#include <string>
#include <vector>

#include "data/sample.h"
#include "image/preprocess.h"

namespace pneumoscan {

// $PNEUMOSCAN_CACHE_DIR, or "" (no store) when unset or empty.
std::string image_store_dir();

struct StoredImages {
  std::vector<cv::Mat> images;          // one per sample (empty Mat where it failed), views into `mapping`
  std::vector<std::string> failures;    // one per sample: "" or the decode error, as ImageCache keeps it
  std::shared_ptr<const void> mapping;  // keeps the memory map alive as long as any view
};

// The pack for `samples` prepared with `config`, if `dir` holds an intact one.
std::optional<StoredImages> load_stored_images(const std::string& dir, const std::vector<Sample>& samples,
                                               const PreprocessConfig& config);

// Writes the pack atomically (`images` and `failures` one per sample). Best
// effort: a store that cannot be written (full disk, permissions) is not an
// error for the run; returns false then.
bool store_images(const std::string& dir, const std::vector<Sample>& samples, const PreprocessConfig& config,
                  const std::vector<cv::Mat>& images, const std::vector<std::string>& failures);

// The pack's path for these samples (tests, tools).
std::string image_store_path(const std::string& dir, const std::vector<Sample>& samples,
                             const PreprocessConfig& config);

}  // namespace pneumoscan
