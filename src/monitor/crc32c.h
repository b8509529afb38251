#pragma once
// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of
// TFRecord files. Debian packages no C/C++ library for it, hence this small
// table-driven one. Check value: crc32c("123456789") = 0xE3069283.
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace pneumoscan {

// CRC-32C of `size` bytes, continuing from `crc` (the CRC of the bytes before; 0 to start).
uint32_t crc32c(const void* data, size_t size, uint32_t crc = 0);
inline uint32_t crc32c(std::string_view bytes) { return crc32c(bytes.data(), bytes.size()); }

// TFRecord's masked CRC: rotated right by 15 bits plus a constant, so that a
// CRC stored inside checksummed data does not checksum to a fixed value.
inline uint32_t mask_crc32c(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8u; }

}  // namespace pneumoscan
