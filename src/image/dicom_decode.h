#pragma once
// Internal to src/image: the DCMTK half of decode_image. Not part of the public contract.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "image/image.h"

class DcmDataset;

namespace pneumoscan::detail {

// True when the bytes carry the DICOM Part 10 preamble ("DICM" at offset 128).
bool has_dicom_preamble(const std::vector<uint8_t>& bytes);

// Decodes DICOM bytes with DCMTK. When `sniffing` is true (content had no
// preamble and OpenCV could not read it either), returns nullopt if the bytes
// do not parse as a DICOM dataset instead of throwing. Otherwise throws
// InputError(name, ...) for anything that cannot be turned into an Image.
std::optional<Image> decode_dicom(const std::vector<uint8_t>& bytes, const std::string& name, bool sniffing);

// False when DCMTK's JPEG decoder would never finish scanning this fragment
// for its frame header (a TEM marker, FF01, before it; dicom_jpeg_scan.cpp).
bool dcmtk_jpeg_scan_ends(const uint8_t* data, size_t length);

// Throws InputError(name, ...) when the dataset's pixel data is in a JPEG
// transfer syntax (`syntax`: its name for the message) and a fragment would
// hang DCMTK's decoder; call before decompressing.
void refuse_jpeg_dcmtk_cannot_scan(DcmDataset& dataset, const std::string& name, const std::string& syntax);

}  // namespace pneumoscan::detail
