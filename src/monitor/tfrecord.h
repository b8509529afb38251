#pragma once
// TFRecord framing, the container of TensorBoard event files. Each record:
//   uint64 length (little-endian), uint32 masked_crc32c(length bytes),
//   `length` data bytes, uint32 masked_crc32c(data)  (all little-endian).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace pneumoscan {

// The record around `data`.
std::string frame_record(std::string_view data);

// The largest record a reader accepts (an event with a few PNG images is far smaller).
inline constexpr uint64_t kMaxRecordBytes = 64u << 20;

struct RecordRead {
  enum class Status { kRecord, kNeedMore, kCorrupt };
  Status status = Status::kNeedMore;
  std::string_view data;  // kRecord: the record's data, inside the buffer
  size_t size = 0;        // kRecord: bytes the record takes in the buffer (data + 16)
  std::string problem;    // kCorrupt: what is wrong, in words
};

// The record at the start of `buffer`: kNeedMore when the buffer ends before
// the record does (a file still being written), kCorrupt on a checksum
// mismatch or a length over `max_length`. Never reads past the buffer.
RecordRead read_record(std::string_view buffer, uint64_t max_length = kMaxRecordBytes);

}  // namespace pneumoscan
