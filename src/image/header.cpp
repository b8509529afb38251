// Header-only dimension parsers for the raster formats: PNG (IHDR), JPEG (the
// first SOFn marker before the first scan), BMP (BITMAPINFOHEADER or the old
// BITMAPCOREHEADER) and TIFF (ImageWidth/ImageLength of the first IFD).
#include "image/header.h"

#include "core/errors.h"

namespace pneumoscan::detail {
namespace {

struct Reader {
  const std::vector<uint8_t>& b;
  bool little_endian = false;
  bool has(size_t pos, size_t n) const { return pos <= b.size() && n <= b.size() - pos; }
  uint32_t u16(size_t pos) const {
    return little_endian ? b[pos] | b[pos + 1] << 8 : b[pos] << 8 | b[pos + 1];
  }
  uint32_t u32(size_t pos) const {
    return little_endian ? u16(pos) | u16(pos + 2) << 16 : u16(pos) << 16 | u16(pos + 2);
  }
};

[[noreturn]] void corrupt(const std::string& name, const std::string& format, const std::string& problem) {
  throw InputError(name, "cannot decode " + std::string(format == "jpeg" ? "JPEG" : format) +
                             " image (corrupt header: " + problem + ")");
}

HeaderSize png_size(const Reader& r, const std::string& name) {
  // Signature (8), then the first chunk must be IHDR: length 13, "IHDR", width, height (big-endian).
  if (!r.has(8, 16) || r.u32(8) != 13 || r.b[12] != 'I' || r.b[13] != 'H' || r.b[14] != 'D' || r.b[15] != 'R')
    corrupt(name, "png", "no IHDR chunk");
  return {r.u32(16), r.u32(20)};
}

HeaderSize jpeg_size(const Reader& r, const std::string& name) {
  size_t pos = 2;  // after SOI
  while (true) {
    // Markers may be preceded by any number of 0xFF fill bytes.
    if (!r.has(pos, 2) || r.b[pos] != 0xFF) corrupt(name, "jpeg", "no frame header before the image data");
    while (r.has(pos + 1, 1) && r.b[pos + 1] == 0xFF) ++pos;
    if (!r.has(pos, 4)) corrupt(name, "jpeg", "no frame header before the image data");
    const uint8_t marker = r.b[pos + 1];
    if (marker == 0xD8 || (marker >= 0xD0 && marker <= 0xD7) || marker == 0x01) {  // no length field
      pos += 2;
      continue;
    }
    if (marker == 0xDA || marker == 0xD9) corrupt(name, "jpeg", "no frame header before the image data");
    const size_t length = r.u16(pos + 2);
    if (length < 2) corrupt(name, "jpeg", "segment length below 2");
    const bool frame = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
    if (frame) {
      // SOFn: length(2) precision(1) height(2) width(2) ...
      if (length < 7 || !r.has(pos + 4, 5)) corrupt(name, "jpeg", "frame header cut short");
      return {r.u16(pos + 7), r.u16(pos + 5)};
    }
    pos += 2 + length;
  }
}

HeaderSize bmp_size(Reader& r, const std::string& name) {
  r.little_endian = true;
  // File header (14), then the DIB header starting with its own size (all little-endian).
  if (!r.has(14, 4)) corrupt(name, "bmp", "cut short");
  const uint32_t dib = r.u32(14);
  if (dib == 12) {  // BITMAPCOREHEADER: 16-bit unsigned sides
    if (!r.has(18, 4)) corrupt(name, "bmp", "cut short");
    return {r.u16(18), r.u16(20)};
  }
  if (dib < 40 || !r.has(18, 8)) corrupt(name, "bmp", "unknown header size " + std::to_string(dib));
  // Signed 32-bit; a negative height means a top-down bitmap.
  const int64_t width = static_cast<int32_t>(r.u32(18));
  const int64_t height = static_cast<int32_t>(r.u32(22));
  return {width, height < 0 ? -height : height};
}

HeaderSize tiff_size(Reader& r, const std::string& name) {
  r.little_endian = r.b[0] == 'I';
  if (!r.has(4, 4)) corrupt(name, "tiff", "cut short");
  const size_t ifd = r.u32(4);
  if (!r.has(ifd, 2)) corrupt(name, "tiff", "first directory outside the file");
  const size_t entries = r.u16(ifd);
  int64_t width = -1, height = -1;
  for (size_t i = 0; i < entries; ++i) {
    const size_t entry = ifd + 2 + 12 * i;
    if (!r.has(entry, 12)) corrupt(name, "tiff", "directory cut short");
    const uint32_t tag = r.u16(entry), type = r.u16(entry + 2);
    if (tag != 256 && tag != 257) continue;
    // SHORT (3) or LONG (4), one value, stored in the entry itself.
    const int64_t value = type == 3 ? r.u16(entry + 8) : type == 4 ? r.u32(entry + 8) : -1;
    if (value < 0) corrupt(name, "tiff", "image size of type " + std::to_string(type));
    (tag == 256 ? width : height) = value;
  }
  if (width < 0 || height < 0) corrupt(name, "tiff", "no image width or length");
  return {width, height};
}

}  // namespace

HeaderSize read_header_size(const std::vector<uint8_t>& bytes, const std::string& format,
                            const std::string& name) {
  Reader reader{bytes};
  if (format == "png") return png_size(reader, name);
  if (format == "jpeg") return jpeg_size(reader, name);
  if (format == "bmp") return bmp_size(reader, name);
  if (format == "tiff") return tiff_size(reader, name);
  throw InputError(name, "no header reader for format '" + format + "'");
}

}  // namespace pneumoscan::detail
