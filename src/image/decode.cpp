// decode_image / decode_image_bytes / to_u8: format sniffing, the header size
// check, and the raster half (libjpeg, libpng, OpenCV for BMP/TIFF and others).
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <mutex>
#include <new>
#include <opencv2/core/utils/logger.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <string>

#include "core/errors.h"
#include "image/codecs.h"
#include "image/dicom_decode.h"
#include "image/header.h"
#include "image/image.h"

namespace pneumoscan {
namespace {

bool starts_with(const std::vector<uint8_t>& b, std::initializer_list<uint8_t> magic) {
  if (b.size() < magic.size()) return false;
  size_t i = 0;
  for (uint8_t m : magic)
    if (b[i++] != m) return false;
  return true;
}

// The format by its magic number; "" when unknown.
std::string sniff_format(const std::vector<uint8_t>& b) {
  if (detail::has_dicom_preamble(b)) return "dicom";
  if (starts_with(b, {0xFF, 0xD8, 0xFF})) return "jpeg";
  if (starts_with(b, {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A})) return "png";
  if (starts_with(b, {'B', 'M'})) return "bmp";
  if (starts_with(b, {'I', 'I', 0x2A, 0x00}) || starts_with(b, {'M', 'M', 0x00, 0x2A})) return "tiff";
  return "";
}

// libjpeg decodes a truncated JPEG "successfully" (gray fill + warning), so a
// JPEG must have its EOI marker (FF D9) after the start of its last scan (FF DA).
// Entropy-coded data cannot contain either marker (0xFF is stuffed), an EXIF
// thumbnail's markers come before the main image's scans, and trailing bytes
// after EOI are allowed.
bool jpeg_has_end_marker(const std::vector<uint8_t>& b) {
  size_t last_scan = std::string::npos;
  for (size_t i = 0; i + 1 < b.size(); ++i)
    if (b[i] == 0xFF && b[i + 1] == 0xDA) last_scan = i;
  if (last_scan == std::string::npos) return false;
  for (size_t i = last_scan + 2; i + 1 < b.size(); ++i)
    if (b[i] == 0xFF && b[i + 1] == 0xD9) return true;
  return false;
}

// Any OpenCV decode result -> CV_32FC1 in [0, 1]; bits_stored set from the depth.
Image from_opencv(const cv::Mat& decoded, const std::string& name, const std::string& format) {
  cv::Mat gray;
  switch (decoded.channels()) {
    case 1:
      gray = decoded;
      break;
    case 2:
      cv::extractChannel(decoded, gray, 0);
      break;  // gray + alpha
    case 3:
      cv::cvtColor(decoded, gray, cv::COLOR_BGR2GRAY);
      break;
    case 4:
      cv::cvtColor(decoded, gray, cv::COLOR_BGRA2GRAY);
      break;  // alpha dropped
    default:
      throw InputError(name, "unsupported image with " + std::to_string(decoded.channels()) + " channels");
  }
  Image image;
  image.format = format;
  if (decoded.channels() >= 3) image.colourfulness = detail::colourfulness(decoded);
  switch (gray.depth()) {
    case CV_8U:
      image.bits_stored = 8;
      gray.convertTo(image.pixels, CV_32F, 1.0 / 255.0);
      break;
    case CV_16U:
      image.bits_stored = 16;
      gray.convertTo(image.pixels, CV_32F, 1.0 / 65535.0);
      break;
    case CV_32F:
      image.bits_stored = 32;
      gray.convertTo(image.pixels, CV_32F);
      cv::patchNaNs(image.pixels, 0.0);
      cv::min(cv::max(image.pixels, 0.0), 1.0, image.pixels);
      break;
    default:
      throw InputError(name,
                       "unsupported image pixel depth (OpenCV depth " + std::to_string(gray.depth()) + ")");
  }
  return image;
}

// OpenCV decodes BMP, TIFF and the JPEGs libjpeg's direct path leaves (CMYK),
// all with their header checked first. Its log goes to stderr without a file
// name, so it is silenced; its own pixel limit, read once from the
// environment, is set to ours as a second guard.
void init_opencv_decoding() {
  static std::once_flag once;
  std::call_once(once, [] {
    cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_SILENT);
    setenv("OPENCV_IO_MAX_IMAGE_PIXELS", std::to_string(kMaxImagePixels).c_str(), /*overwrite=*/0);
  });
}

cv::Mat opencv_decode(const std::vector<uint8_t>& bytes) {
  init_opencv_decoding();
  try {
    return cv::imdecode(
        cv::Mat(1, static_cast<int>(bytes.size()), CV_8UC1, const_cast<uint8_t*>(bytes.data())),
        cv::IMREAD_UNCHANGED);
  } catch (const cv::Exception&) {
    return {};
  }
}

}  // namespace

namespace detail {
// Hasler and Suesstrunk (2003): sqrt(sd_rg^2 + sd_yb^2) + 0.3 sqrt(mean_rg^2 + mean_yb^2)
// on 8-bit values, rg = R - G, yb = (R + G) / 2 - B; on a copy at most 256 px a side.
double colourfulness(const cv::Mat& colour) {
  const cv::Mat small = shrink_to_fit(colour, 256);
  cv::Mat bgr;
  small.convertTo(bgr, CV_32F,
                  small.depth() == CV_16U   ? 255.0 / 65535.0
                  : small.depth() == CV_32F ? 255.0
                                            : 1.0);
  std::vector<cv::Mat> channels;
  cv::split(bgr, channels);  // B, G, R[, A]
  const cv::Mat rg = channels[2] - channels[1];
  const cv::Mat yb = 0.5 * (channels[2] + channels[1]) - channels[0];
  cv::Scalar mean_rg, sd_rg, mean_yb, sd_yb;
  cv::meanStdDev(rg, mean_rg, sd_rg);
  cv::meanStdDev(yb, mean_yb, sd_yb);
  return std::sqrt(sd_rg[0] * sd_rg[0] + sd_yb[0] * sd_yb[0]) +
         0.3 * std::sqrt(mean_rg[0] * mean_rg[0] + mean_yb[0] * mean_yb[0]);
}

}  // namespace detail

void check_image_dimensions(int64_t width, int64_t height, const std::string& name, int64_t frames) {
  const std::string size = std::to_string(width) + "x" + std::to_string(height) +
                           (frames > 1 ? "x" + std::to_string(frames) + " frames" : std::string());
  if (width <= 0 || height <= 0 || frames <= 0) throw InputError(name, "image has no pixels (" + size + ")");
  if (width > kMaxImageSide || height > kMaxImageSide ||
      width * height > kMaxImagePixels / frames)  // all factors <= 30000 here: no overflow
    throw InputError(name, "image is " + size + " pixels, over the limit of " +
                               std::to_string(kMaxImagePixels / 1'000'000) + " megapixels and " +
                               std::to_string(kMaxImageSide) + " pixels a side (not decoded)");
}

namespace {

Image decode_sniffed_bytes(const std::vector<uint8_t>& bytes, const std::string& name,
                           const DecodeOptions& options) {
  if (bytes.empty()) throw InputError(name, "empty file");
  if (bytes.size() > static_cast<size_t>(std::numeric_limits<int>::max()))
    throw InputError(name, "file too large (over 2 GiB)");
  const std::string format = sniff_format(bytes);
  if (format == "dicom") return *detail::decode_dicom(bytes, name, /*sniffing=*/false);

  std::vector<std::string> warnings;
  cv::Mat decoded;
  int reduction = 1;
  int source_width = 0, source_height = 0;
  if (!format.empty()) {
    const detail::HeaderSize size = detail::read_header_size(bytes, format, name);
    check_image_dimensions(size.width, size.height, name);
    source_width = static_cast<int>(size.width);
    source_height = static_cast<int>(size.height);
  }
  if (format == "jpeg") {
    if (!jpeg_has_end_marker(bytes))
      throw InputError(name,
                       "cannot decode JPEG image (truncated: no end-of-image marker after the image data)");
    if (auto jpeg = detail::decode_jpeg(bytes, name, warnings, options.at_least, reduction)) decoded = *jpeg;
  } else if (format == "png") {
    decoded = detail::decode_png(bytes, name, warnings);
  }
  // Only the formats whose header was checked above reach OpenCV (BMP, TIFF,
  // CMYK JPEG): its other readers (PNM, WebP, JPEG 2000, OpenEXR, GDAL, which
  // writes the upload to a temporary file) are code no X-ray needs.
  if (decoded.empty() && (format == "bmp" || format == "tiff" || format == "jpeg"))
    decoded = opencv_decode(bytes);
  if (!decoded.empty()) {
    check_image_dimensions(decoded.cols, decoded.rows, name);
    Image image = from_opencv(decoded, name, format);
    image.warnings = std::move(warnings);
    if (reduction > 1) {
      image.reduction = reduction;
      image.source_width = source_width;
      image.source_height = source_height;
    }
    return image;
  }
  if (!format.empty()) throw InputError(name, "cannot decode " + format + " image (corrupt or truncated)");
  // No known magic: a DICOM file without preamble (or raw dataset) is still possible.
  if (auto image = detail::decode_dicom(bytes, name, /*sniffing=*/true)) return *image;
  throw InputError(name, "not an image or DICOM file (" + std::string(kReadableFormats) + ")");
}

}  // namespace

Image decode_image_bytes(const std::vector<uint8_t>& bytes, const std::string& name,
                         const DecodeOptions& options) {
  try {
    return decode_sniffed_bytes(bytes, name, options);
  } catch (const std::bad_alloc&) {
    // A header or DICOM element length within the limits can still ask for more
    // than a busy or memory-capped machine has; the batch goes on without it.
    throw InputError(name, "too large to decode in the memory available");
  }
}

Image decode_image(const std::string& path, const DecodeOptions& options) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw InputError(path, "is a folder, not an image file");
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw InputError(path,
                     std::filesystem::exists(path, ec) ? "cannot open file" : "cannot open file (not found)");
  // Read in chunks rather than trusting tellg(): works for pipes and devices too.
  std::vector<uint8_t> bytes;
  char chunk[1 << 16];
  while (in.read(chunk, sizeof chunk) || in.gcount() > 0)
    bytes.insert(bytes.end(), chunk, chunk + in.gcount());
  if (in.bad()) throw InputError(path, "cannot read file");
  return decode_image_bytes(bytes, path, options);
}

cv::Mat to_u8(const Image& image) {
  cv::Mat out;
  if (image.pixels.empty()) return out;
  image.pixels.convertTo(out, CV_8U, 255.0);  // rounds and saturates
  return out;
}

cv::Mat shrink_to_fit(const cv::Mat& pixels, int max_side) {
  const int longer = std::max(pixels.cols, pixels.rows);
  if (longer <= max_side || max_side < 1) return pixels;
  const double scale = static_cast<double>(max_side) / longer;
  const cv::Size size(std::max(1, static_cast<int>(std::lround(pixels.cols * scale))),
                      std::max(1, static_cast<int>(std::lround(pixels.rows * scale))));
  cv::Mat shrunk;
  cv::resize(pixels, shrunk, size, 0, 0, cv::INTER_AREA);
  return shrunk;
}

}  // namespace pneumoscan
