#include "core/archive_bounds.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <functional>
#include <vector>

#include "core/errors.h"
#include "core/pickle_bounds.h"

namespace pneumoscan {
namespace {

uint64_t little_endian(const unsigned char* p, int width) {
  uint64_t value = 0;
  for (int i = width - 1; i >= 0; --i) value = (value << 8) | p[i];
  return value;
}

// ---- zip --------------------------------------------------------------------

constexpr uint32_t kLocalHeader = 0x04034b50;
constexpr uint32_t kCentralHeader = 0x02014b50;
constexpr uint32_t kEndOfDirectory = 0x06054b50;
constexpr uint32_t kZip64EndOfDirectory = 0x06064b50;
constexpr uint32_t kZip64Locator = 0x07064b50;
constexpr uint64_t kSaturated32 = 0xffffffffu;

// Reads `n` bytes at `offset` into `out`; false when they are not all there.
using ByteSource = std::function<bool(uint64_t offset, size_t n, unsigned char* out)>;

// Records LibTorch packs (its code files) unpack to at most this much:
// TorchScript source of a few KB. Deflate cannot exceed 1032:1 either.
constexpr uint64_t kMaxUnpackedRecord = 64ull << 20;
constexpr uint64_t kMaxDeflateRatio = 1032;

struct Record {
  std::string name;
  bool packed = false;    // deflate (LibTorch's code files); else stored
  uint64_t size = 0;      // in the file
  uint64_t unpacked = 0;  // what the reader allocates for it
  uint64_t local_offset = 0;
};

// "data.pkl", "constants.pkl", and "code/....debug_pkl" (read when an error
// message quotes the model's code).
bool is_pickle_record(const std::string& name) {
  if (name.size() < 4) return false;
  const std::string ending = name.substr(name.size() - 4);
  return ending == ".pkl" || ending == "_pkl";
}

class ArchiveCheck {
 public:
  ArchiveCheck(ByteSource read, uint64_t file_size, std::string name, std::string kind)
      : read_(std::move(read)), file_size_(file_size), name_(std::move(name)), kind_(std::move(kind)) {}

  std::vector<ArchiveRecord> run() {
    uint64_t directory_offset = 0, directory_size = 0, entries = 0;
    // Not a zip archive at all: the reader refuses it in its own terms
    // without allocating (it finds no directory either).
    if (!find_directory(directory_offset, directory_size, entries)) return {};
    std::vector<ArchiveRecord> listed;
    for (const Record& record : read_directory(directory_offset, directory_size, entries)) {
      check_record(record, directory_offset);
      listed.push_back({record.name, record.unpacked});
    }
    return listed;
  }

 private:
  [[noreturn]] void fail(const std::string& problem) const {
    throw ModelFileError(name_, "damaged " + kind_ + " (" + problem + ")");
  }

  std::vector<unsigned char> bytes(uint64_t offset, uint64_t n, const char* what) const {
    if (offset > file_size_ || n > file_size_ - offset)
      fail(std::string(what) + " runs past the end of the file");
    std::vector<unsigned char> out(static_cast<size_t>(n));
    if (n > 0 && !read_(offset, out.size(), out.data())) fail(std::string("cannot read its ") + what);
    return out;
  }

  bool find_directory(uint64_t& offset, uint64_t& size, uint64_t& entries) const {
    // The end record (22 bytes) is followed by a comment of at most 65,535 bytes.
    const uint64_t tail_size = std::min<uint64_t>(file_size_, 22 + 65535);
    const auto tail = bytes(file_size_ - tail_size, tail_size, "end of archive");
    int64_t at = static_cast<int64_t>(tail.size()) - 22;
    while (at >= 0 && little_endian(&tail[at], 4) != kEndOfDirectory) --at;
    if (at < 0) return false;
    const unsigned char* end = &tail[at];
    entries = little_endian(end + 10, 2);
    size = little_endian(end + 12, 4);
    offset = little_endian(end + 16, 4);
    const uint64_t end_offset = file_size_ - tail_size + static_cast<uint64_t>(at);
    // Zip64: a locator just before the end record points at the 64-bit one.
    // LibTorch's zip reader (miniz) takes the 64-bit values whenever the
    // locator is there, whatever the 32-bit ones say (a mutated archive whose
    // end record said "no records" got past this check that way), so the
    // check does too.
    const bool has_locator =
        end_offset >= 20 &&
        little_endian(bytes(end_offset - 20, 4, "zip64 locator").data(), 4) == kZip64Locator;
    if (has_locator || entries == 0xffff || size == kSaturated32 || offset == kSaturated32) {
      if (!has_locator) fail("its zip64 locator is missing");
      const auto locator = bytes(end_offset - 20, 20, "zip64 locator");
      const auto end64 = bytes(little_endian(&locator[8], 8), 56, "zip64 end record");
      if (little_endian(&end64[0], 4) != kZip64EndOfDirectory) fail("its zip64 end record is missing");
      entries = little_endian(&end64[32], 8);
      size = little_endian(&end64[40], 8);
      offset = little_endian(&end64[48], 8);
    }
    if (offset > end_offset || size > end_offset - offset) fail("its record directory lies outside the file");
    if (entries > size / 46) fail("its record directory claims more records than it holds");
    return true;
  }

  std::vector<Record> read_directory(uint64_t offset, uint64_t size, uint64_t entries) const {
    const auto directory = bytes(offset, size, "record directory");
    std::vector<Record> records;
    size_t at = 0;
    for (uint64_t i = 0; i < entries; ++i) {
      if (directory.size() - at < 46 || little_endian(&directory[at], 4) != kCentralHeader)
        fail("its record directory is cut short");
      const unsigned char* entry = &directory[at];
      const uint64_t method = little_endian(entry + 10, 2);
      uint64_t compressed = little_endian(entry + 20, 4);
      uint64_t size_stored = little_endian(entry + 24, 4);
      const size_t name_length = little_endian(entry + 28, 2);
      const size_t extra_length = little_endian(entry + 30, 2);
      const size_t comment_length = little_endian(entry + 32, 2);
      Record record;
      record.local_offset = little_endian(entry + 42, 4);
      if (directory.size() - at - 46 < name_length + extra_length + comment_length)
        fail("its record directory is cut short");
      record.name.assign(reinterpret_cast<const char*>(entry + 46), name_length);
      read_zip64_sizes(entry + 46 + name_length, extra_length, size_stored, compressed, record.local_offset);
      record.packed = method == 8;
      record.size = compressed;
      record.unpacked = size_stored;
      if (method != 0 && method != 8)
        fail("record '" + record.name + "' is packed in a way LibTorch does not write (method " +
             std::to_string(method) + ")");
      if (!record.packed && compressed != size_stored)
        fail("record '" + record.name + "' has two different sizes");
      if (record.packed &&
          (size_stored > kMaxUnpackedRecord || size_stored > kMaxDeflateRatio * compressed + 64 ||
           compressed > 2 * kMaxUnpackedRecord))
        fail("record '" + record.name + "' claims " + std::to_string(size_stored) + " bytes unpacked from " +
             std::to_string(compressed));
      records.push_back(std::move(record));
      at += 46 + name_length + extra_length + comment_length;
    }
    return records;
  }

  // A zip64 extra field holds, in this order, whichever of the sizes and the
  // offset are saturated in the fixed fields.
  void read_zip64_sizes(const unsigned char* extra, size_t length, uint64_t& size, uint64_t& compressed,
                        uint64_t& offset) const {
    if (size != kSaturated32 && compressed != kSaturated32 && offset != kSaturated32) return;
    size_t at = 0;
    while (length - at >= 4) {
      const uint64_t id = little_endian(extra + at, 2);
      const size_t field_length = little_endian(extra + at + 2, 2);
      if (length - at - 4 < field_length) break;
      if (id == 1) {
        const unsigned char* field = extra + at + 4;
        size_t used = 0;
        for (uint64_t* value : {&size, &compressed, &offset}) {
          if (*value != kSaturated32) continue;
          if (field_length - used < 8) fail("its zip64 sizes are cut short");
          *value = little_endian(field + used, 8);
          used += 8;
        }
        return;
      }
      at += 4 + field_length;
    }
    fail("its zip64 sizes are missing");
  }

  void check_record(const Record& record, uint64_t directory_offset) const {
    if (record.local_offset > directory_offset || directory_offset - record.local_offset < 30)
      fail("record '" + record.name + "' lies outside the file");
    const auto header = bytes(record.local_offset, 30, "record header");
    if (little_endian(&header[0], 4) != kLocalHeader) fail("record '" + record.name + "' has no header");
    const uint64_t data_offset =
        record.local_offset + 30 + little_endian(&header[26], 2) + little_endian(&header[28], 2);
    if (data_offset > directory_offset || record.size > directory_offset - data_offset)
      fail("record '" + record.name + "' claims " + std::to_string(record.size) +
           " bytes, more than the file holds");
    if (!is_pickle_record(record.name)) return;
    auto pickle = bytes(data_offset, record.size, "pickle record");
    if (record.packed) pickle = unpack(record, pickle);
    const std::string problem = pickle_bounds_problem(pickle.data(), pickle.size());
    if (!problem.empty()) fail("record '" + record.name + "': " + problem);
  }

  // Inflates a packed record into exactly its declared size (bounded above).
  std::vector<unsigned char> unpack(const Record& record, std::vector<unsigned char>& packed) const {
    std::vector<unsigned char> out(static_cast<size_t>(record.unpacked));
    z_stream stream{};
    if (inflateInit2(&stream, -MAX_WBITS) != Z_OK) fail("cannot unpack record '" + record.name + "'");
    stream.next_in = packed.data();
    stream.avail_in = static_cast<uInt>(packed.size());
    stream.next_out = out.data();
    stream.avail_out = static_cast<uInt>(out.size());
    const int status = inflate(&stream, Z_FINISH);
    const uint64_t produced = stream.total_out;
    inflateEnd(&stream);
    if (status != Z_STREAM_END || produced != record.unpacked)
      fail("record '" + record.name + "' does not unpack to the " + std::to_string(record.unpacked) +
           " bytes it claims");
    return out;
  }

  ByteSource read_;
  uint64_t file_size_;
  std::string name_;
  std::string kind_;
};

}  // namespace

std::string tensor_record_key(const std::string& record_name) {
  const size_t slash = record_name.find('/');
  if (slash == std::string::npos || record_name.compare(slash, 6, "/data/") != 0) return "";
  const std::string digits = record_name.substr(slash + 6);
  const bool all_digits = !digits.empty() && std::all_of(digits.begin(), digits.end(),
                                                         [](char c) { return c >= '0' && c <= '9'; });
  return all_digits ? digits : "";
}

void check_archive_bounds(const std::string& path, const std::string& kind) {
  (void)archive_records(path, kind);
}

std::vector<ArchiveRecord> archive_records(const std::string& path, const std::string& kind) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return {};  // the reader says it cannot be opened, in its own terms
  const std::streamoff end = in.tellg();
  if (end < 0) return {};
  return ArchiveCheck(
             [&in](uint64_t offset, size_t n, unsigned char* out) {
               in.clear();
               in.seekg(static_cast<std::streamoff>(offset));
               return static_cast<bool>(
                   in.read(reinterpret_cast<char*>(out), static_cast<std::streamsize>(n)));
             },
             static_cast<uint64_t>(end), path, kind)
      .run();
}

}  // namespace pneumoscan
