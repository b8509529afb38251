#pragma once
// The protocol-buffer wire format, by hand, for the few messages of
// TensorBoard event files (event_proto.h). A generated encoder would need
// protoc at build time and a CMake code-generation step for five small
// messages; these ~150 lines need neither.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/errors.h"

namespace pneumoscan {

// Appends fields to a message. Nested messages are encoded on their own and added with bytes_field.
class ProtoEncoder {
 public:
  void varint_field(int field, uint64_t value);                       // int32/int64/enum/bool (wire type 0)
  void double_field(int field, double value);                         // wire type 1
  void float_field(int field, float value);                           // wire type 5
  void bytes_field(int field, std::string_view bytes);                // string/bytes/message (wire type 2)
  void packed_doubles(int field, const std::vector<double>& values);  // [packed = true] repeated double
  const std::string& bytes() const { return bytes_; }

 private:
  void varint(uint64_t value);
  void key(int field, int wire_type);
  void fixed(uint64_t bits, int size);
  std::string bytes_;
};

// One decoded field. For wire type 2 `bytes` points into the decoded buffer.
struct ProtoField {
  int number = 0;
  int wire_type = 0;
  uint64_t value = 0;  // varint value, or the raw bits of a fixed32/fixed64
  std::string_view bytes;
  double as_double() const;  // wire type 1
  float as_float() const;    // wire type 5
};

// Walks the fields of a message without copying. Every length is checked
// against the bytes left, so malformed input ends in ProtoError, never a read
// past the buffer.
class ProtoDecoder {
 public:
  explicit ProtoDecoder(std::string_view message) : rest_(message) {}
  // The next field into `field`; false at the end of the message. Throws ProtoError.
  bool next(ProtoField& field);

 private:
  uint64_t varint();
  std::string_view rest_;
};

// Malformed protocol-buffer bytes (the message says what is wrong, not where).
struct ProtoError : Error {
  using Error::Error;
};

// The doubles of a packed repeated double field; ProtoError when its length is not a multiple of 8.
std::vector<double> unpack_doubles(std::string_view packed);

}  // namespace pneumoscan
