#pragma once
// The one image type every decoder produces: a grayscale float image in [0, 1]
// at its original resolution, plus what the source said about it.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

namespace pneumoscan {

// Facts read from a DICOM header. Never holds patient names or raw IDs:
// `patient_hash` is a pseudonym (FNV-1a of PatientID) for grouping by patient.
struct DicomInfo {
  std::string patient_hash;         // "" when PatientID is absent
  std::string sex;                  // "M", "F", "O" or ""
  std::optional<int> age_years;     // from PatientAge (e.g. "058Y")
  std::string modality;             // "CR", "DX", ...
  std::string view_position;        // "PA", "AP", ...
  std::string photometric;          // "MONOCHROME1", "MONOCHROME2", "RGB", ...
  std::string transfer_syntax_uid;
  std::string study_instance_uid;
  std::string sop_instance_uid;
  std::string sop_class_uid;
};

struct Image {
  cv::Mat pixels;                  // CV_32FC1, values in [0, 1], row-major, original size
  int bits_stored = 8;             // 8 for ordinary JPEG/PNG, 16 for 16-bit PNG, DICOM BitsStored
  std::string format;              // "jpeg", "png", "dicom", ...
  std::optional<DicomInfo> dicom;  // set for DICOM input only

  int width() const { return pixels.cols; }
  int height() const { return pixels.rows; }
};

// Decodes PNG/JPEG/BMP/TIFF (OpenCV; 8/16-bit, gray or colour -> gray) or DICOM
// (DCMTK; compressed transfer syntaxes, MONOCHROME1 inverted, rescale, VOI
// LUT or window). The format is detected from the content, not the extension.
// Throws InputError("<path>: <problem>") for anything unreadable.
Image decode_image(const std::string& path);

// Same, from bytes in memory (an upload); `name` is used in error messages.
Image decode_image_bytes(const std::vector<uint8_t>& bytes, const std::string& name);

// Converts to 8-bit (0..255) for caching and for writing PNGs.
cv::Mat to_u8(const Image& image);

}  // namespace pneumoscan
