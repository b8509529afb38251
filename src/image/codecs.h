#pragma once
// Internal to src/image: JPEG (libjpeg) and PNG (libpng) decoding with the
// libraries' warnings captured instead of printed, and their errors turned
// into InputError. Output as OpenCV's imdecode(IMREAD_UNCHANGED) gives it for
// the same file (8/16-bit, 1 channel or BGR; alpha dropped, which does not
// change the gray value), so switching decoders changed no pixel (tested).
// Not part of the public contract.
#include <cstdint>
#include <opencv2/core.hpp>
#include <optional>
#include <string>
#include <vector>

namespace pneumoscan::detail {

// Hasler and Suesstrunk's colourfulness (Image::colourfulness) of a BGR or
// BGRA image of any depth (8, 16 bit or float in [0, 1]).
double colourfulness(const cv::Mat& bgr);

// Decodes a baseline/progressive/lossless 8-bit JPEG. Corrupt entropy-coded
// data (libjpeg's "premature end of data segment", "bad Huffman code", ...)
// means pixels were made up: InputError. Other warnings go to `warnings`.
// Returns nullopt for 4-component (CMYK/YCCK) JPEGs, which the caller leaves
// to OpenCV. Checks the frame size against the pixel limit before allocating.
// `at_least` > 0 lets libjpeg decode at 1/2, 1/4 or 1/8 scale in the DCT
// (the largest reduction that keeps both sides >= at_least); `reduction` gets
// the factor used (1 = full size).
std::optional<cv::Mat> decode_jpeg(const std::vector<uint8_t>& bytes, const std::string& name,
                                   std::vector<std::string>& warnings, int at_least, int& reduction);

// Decodes any PNG (1-16 bits, gray, palette, RGB, with or without alpha).
// Ancillary-chunk problems become `warnings`; anything else InputError.
cv::Mat decode_png(const std::vector<uint8_t>& bytes, const std::string& name,
                   std::vector<std::string>& warnings);

// Adds `warning` unless it is already there; at most kMaxWarnings are kept.
inline constexpr size_t kMaxWarnings = 8;
void add_warning(std::vector<std::string>& warnings, const std::string& warning);

}  // namespace pneumoscan::detail
