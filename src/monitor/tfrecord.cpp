#include "monitor/tfrecord.h"

#include "monitor/crc32c.h"

namespace pneumoscan {
namespace {

void put_le(std::string& out, uint64_t value, int size) {
  for (int i = 0; i < size; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
}

uint64_t get_le(std::string_view bytes, int size) {
  uint64_t value = 0;
  for (int i = 0; i < size; ++i)
    value |= static_cast<uint64_t>(static_cast<unsigned char>(bytes[i])) << (8 * i);
  return value;
}

}  // namespace

std::string frame_record(std::string_view data) {
  std::string record;
  record.reserve(data.size() + 16);
  put_le(record, data.size(), 8);
  put_le(record, mask_crc32c(crc32c(record.data(), 8)), 4);
  record.append(data.data(), data.size());
  put_le(record, mask_crc32c(crc32c(data)), 4);
  return record;
}

RecordRead read_record(std::string_view buffer, uint64_t max_length) {
  RecordRead read;
  if (buffer.size() < 12) return read;
  const uint64_t length = get_le(buffer, 8);
  if (static_cast<uint32_t>(get_le(buffer.substr(8), 4)) != mask_crc32c(crc32c(buffer.data(), 8))) {
    read.status = RecordRead::Status::kCorrupt;
    read.problem = "record length checksum mismatch";
    return read;
  }
  if (length > max_length) {
    read.status = RecordRead::Status::kCorrupt;
    read.problem = "record of " + std::to_string(length) + " bytes is over the " +
                   std::to_string(max_length) + "-byte limit";
    return read;
  }
  if (buffer.size() - 12 < length + 4) return read;
  const std::string_view data = buffer.substr(12, length);
  if (static_cast<uint32_t>(get_le(buffer.substr(12 + length), 4)) != mask_crc32c(crc32c(data))) {
    read.status = RecordRead::Status::kCorrupt;
    read.problem = "record data checksum mismatch";
    return read;
  }
  read.status = RecordRead::Status::kRecord;
  read.data = data;
  read.size = length + 16;
  return read;
}

}  // namespace pneumoscan
