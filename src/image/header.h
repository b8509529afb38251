#pragma once
// Internal to src/image: image dimensions read from the file header, without
// decoding, so that the pixel limit (image.h) is enforced before any decoder
// allocates. Not part of the public contract.
#include <cstdint>
#include <string>
#include <vector>

namespace pneumoscan::detail {

struct HeaderSize {
  int64_t width = 0;
  int64_t height = 0;
};

// The dimensions the header of a "png", "jpeg", "bmp" or "tiff" file declares
// (`format` as sniffed from the magic number). Throws InputError(name,
// "cannot decode <format> image (corrupt header: ...)") when the header is
// cut short or malformed. Reads only the bytes it needs; never allocates
// in proportion to the declared size.
HeaderSize read_header_size(const std::vector<uint8_t>& bytes, const std::string& format,
                            const std::string& name);

}  // namespace pneumoscan::detail
