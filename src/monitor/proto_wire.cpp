#include "monitor/proto_wire.h"

#include <cstring>

namespace pneumoscan {
namespace {

constexpr int kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5;

uint64_t load_le(const char* data, int size) {
  uint64_t bits = 0;
  for (int i = 0; i < size; ++i)
    bits |= static_cast<uint64_t>(static_cast<unsigned char>(data[i])) << (8 * i);
  return bits;
}

}  // namespace

void ProtoEncoder::varint(uint64_t value) {
  while (value >= 0x80) {
    bytes_.push_back(static_cast<char>((value & 0x7F) | 0x80));
    value >>= 7;
  }
  bytes_.push_back(static_cast<char>(value));
}

void ProtoEncoder::key(int field, int wire_type) { varint((static_cast<uint64_t>(field) << 3) | wire_type); }

void ProtoEncoder::fixed(uint64_t bits, int size) {
  for (int i = 0; i < size; ++i) bytes_.push_back(static_cast<char>((bits >> (8 * i)) & 0xFF));
}

void ProtoEncoder::varint_field(int field, uint64_t value) {
  key(field, kVarint);
  varint(value);
}

void ProtoEncoder::double_field(int field, double value) {
  uint64_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  key(field, kFixed64);
  fixed(bits, 8);
}

void ProtoEncoder::float_field(int field, float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  key(field, kFixed32);
  fixed(bits, 4);
}

void ProtoEncoder::bytes_field(int field, std::string_view bytes) {
  key(field, kLengthDelimited);
  varint(bytes.size());
  bytes_.append(bytes.data(), bytes.size());
}

void ProtoEncoder::packed_doubles(int field, const std::vector<double>& values) {
  key(field, kLengthDelimited);
  varint(values.size() * 8);
  for (double value : values) {
    uint64_t bits;
    std::memcpy(&bits, &value, sizeof bits);
    fixed(bits, 8);
  }
}

double ProtoField::as_double() const {
  double value;
  std::memcpy(&value, &this->value, sizeof value);
  return value;
}

float ProtoField::as_float() const {
  const auto bits = static_cast<uint32_t>(value);
  float result;
  std::memcpy(&result, &bits, sizeof result);
  return result;
}

uint64_t ProtoDecoder::varint() {
  uint64_t value = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (rest_.empty()) throw ProtoError("truncated varint");
    const auto byte = static_cast<unsigned char>(rest_.front());
    rest_.remove_prefix(1);
    value |= static_cast<uint64_t>(byte & 0x7F) << shift;
    if ((byte & 0x80) == 0) return value;
  }
  throw ProtoError("varint longer than 10 bytes");
}

bool ProtoDecoder::next(ProtoField& field) {
  if (rest_.empty()) return false;
  const uint64_t key = varint();
  field.number = static_cast<int>(key >> 3);
  field.wire_type = static_cast<int>(key & 7);
  field.bytes = {};
  if (field.number == 0 || key >> 3 > 0x1FFFFFFF) throw ProtoError("bad field number");
  switch (field.wire_type) {
    case kVarint:
      field.value = varint();
      return true;
    case kFixed64:
    case kFixed32: {
      const int size = field.wire_type == kFixed64 ? 8 : 4;
      if (rest_.size() < static_cast<size_t>(size)) throw ProtoError("truncated fixed-size field");
      field.value = load_le(rest_.data(), size);
      rest_.remove_prefix(size);
      return true;
    }
    case kLengthDelimited: {
      const uint64_t length = varint();
      if (length > rest_.size()) throw ProtoError("field length past the end of the message");
      field.bytes = rest_.substr(0, length);
      rest_.remove_prefix(length);
      return true;
    }
    default:
      throw ProtoError("unsupported wire type");
  }
}

std::vector<double> unpack_doubles(std::string_view packed) {
  if (packed.size() % 8 != 0) throw ProtoError("packed doubles not a multiple of 8 bytes");
  std::vector<double> values(packed.size() / 8);
  for (size_t i = 0; i < values.size(); ++i) {
    const uint64_t bits = load_le(packed.data() + 8 * i, 8);
    std::memcpy(&values[i], &bits, sizeof bits);
  }
  return values;
}

}  // namespace pneumoscan
