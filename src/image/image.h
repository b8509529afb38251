#pragma once
// The one image type every decoder produces: a grayscale float image in [0, 1]
// at its original resolution, plus what the source said about it.
#include <cstdint>
#include <opencv2/core.hpp>
#include <optional>
#include <string>
#include <vector>

namespace pneumoscan {

// Facts read from a DICOM header. Never holds patient names or raw IDs:
// `patient_hash` is a pseudonym (FNV-1a of PatientID) for grouping by patient.
struct DicomInfo {
  std::string patient_hash;      // "" when PatientID is absent
  std::string sex;               // "M", "F", "O" or ""
  std::optional<int> age_years;  // from PatientAge (e.g. "058Y")
  std::string modality;          // "CR", "DX", ...
  std::string view_position;     // "PA", "AP", ...
  std::string body_part;         // BodyPartExamined: "CHEST", ... ("" when absent)
  std::string photometric;       // "MONOCHROME1", "MONOCHROME2", "RGB", ...
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
  // What the decoder noticed but could live with (libjpeg's "extraneous bytes
  // before marker", libpng's "iCCP: known incorrect sRGB profile", ...), one
  // line each, without the file name. Decoders never print them.
  std::vector<std::string> warnings;
  // How colourful the source was, before it became gray: Hasler and
  // Suesstrunk's colourfulness metric (2003) on the 0-255 scale, computed on
  // a copy at most 256 px a side. 0 for gray sources (every X-ray, also RGB
  // files holding a gray picture); photographs score about 20-100.
  double colourfulness = 0;
  // Set only when the decoder was allowed to reduce (DecodeOptions::at_least)
  // and did: `pixels` are the file's image shrunk `reduction` times (2, 4 or
  // 8, a JPEG scaled in the DCT) and source_* the size the file declares.
  int source_width = 0;
  int source_height = 0;
  int reduction = 1;

  int width() const { return pixels.cols; }
  int height() const { return pixels.rows; }
  // The file's own size, also when decoded reduced: what reports show.
  int original_width() const { return reduction > 1 ? source_width : pixels.cols; }
  int original_height() const { return reduction > 1 ? source_height : pixels.rows; }
};

// The largest image decoded. Dimensions are read from the header (PNG IHDR,
// JPEG SOF, BMP/TIFF header, DICOM Rows/Columns/NumberOfFrames) and checked
// BEFORE any pixel memory is allocated, so a small file claiming a huge size is
// refused in microseconds. 100 Mpx is ~10x the largest chest radiograph
// (43x43 cm at 0.1 mm = 4300x4300 px = 18.5 Mpx) and costs 400 MB as float.
inline constexpr int64_t kMaxImagePixels = 100'000'000;
inline constexpr int64_t kMaxImageSide = 30000;

// Throws InputError(name, "image is WxH pixels, over the limit ...") when
// width x height (x frames) exceeds kMaxImagePixels or a side exceeds
// kMaxImageSide; InputError for a zero or negative side.
void check_image_dimensions(int64_t width, int64_t height, const std::string& name, int64_t frames = 1);

// What the caller needs of the pixels. `at_least` > 0: the caller resizes to
// at_least x at_least anyway (a model input), so a JPEG may be decoded at 1/2,
// 1/4 or 1/8 scale by libjpeg's DCT scaling, keeping both sides >= at_least:
// a 2000 px radiograph for a 224 px model decodes at 500 px, several times
// faster and with 16x less memory. Other formats always decode at full size.
struct DecodeOptions {
  int at_least = 0;  // 0 = full size
};

// The formats decode_image reads, as error messages name them.
inline constexpr const char* kReadableFormats = "PNG, JPEG, BMP, TIFF and DICOM are read";

// Decodes PNG/JPEG/BMP/TIFF (OpenCV; 8/16-bit, gray or colour -> gray) or DICOM
// (DCMTK; compressed transfer syntaxes, MONOCHROME1 inverted, rescale, VOI
// LUT or window). The format is detected from the content, not the extension;
// anything else (PNM, WebP, JPEG 2000, ...) is refused, not handed to OpenCV.
// Throws InputError("<path>: <problem>") for anything unreadable, for images
// over the pixel limit above, and for DICOM whose pixel data length does not
// match Rows x Columns or whose rescale/window values are not finite, and
// when decoding needs more memory than the machine gives (std::bad_alloc).
Image decode_image(const std::string& path, const DecodeOptions& options = {});

// Same, from bytes in memory (an upload); `name` is used in error messages.
Image decode_image_bytes(const std::vector<uint8_t>& bytes, const std::string& name,
                         const DecodeOptions& options = {});

// The smallest image diagnosed: below 64 px a side a radiograph is a thumbnail
// or a damaged file (QC's default too-small threshold, data/qc.h, is the same).
inline constexpr int kMinDiagnosticSide = 64;

// Refuses an image that decodes but must not be diagnosed: smaller than
// kMinDiagnosticSide on a side, or blank (all pixels within one 8-bit gray
// level, e.g. an all-black file). Throws InputError(name, ...). Called on the
// way into the model by predict, the HTTP service and the DICOM node; data
// set tools (qc, eda) decode such files and report them instead.
void check_diagnosable(const Image& image, const std::string& name);

// Converts to 8-bit (0..255) for caching and for writing PNGs.
cv::Mat to_u8(const Image& image);

// An area-resized copy whose longer side is max_side, neither side under 1 px
// (OpenCV's scale-factor form rounds a 1 x 100000 strip to an empty size and
// throws); `pixels` itself when it already fits.
cv::Mat shrink_to_fit(const cv::Mat& pixels, int max_side);

}  // namespace pneumoscan
