#pragma once
// An independent reader of TensorBoard event files for the tests: it shares
// no code with src/monitor (its own bitwise CRC-32C, varint and field
// parsing), so a mistake in the writer's encoding cannot cancel out in it.
// Every record's two checksums are checked; the fields are read under
// TensorFlow's numbers (event.proto, summary.proto, tensor.proto).
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace pneumoscan::test {

struct CheckedValue {
  std::string tag;
  std::string kind;  // "scalar", "image", "histo", "text", "other"
  float simple_value = 0;
  int64_t height = 0, width = 0, colorspace = 0;
  std::string png;
  double histo_num = 0, histo_min = 0, histo_max = 0, bucket_total = 0;
  size_t buckets = 0, bucket_limits = 0;
  std::string plugin, text;
};

struct CheckedEvent {
  double wall_time = 0;
  int64_t step = 0;
  std::string file_version;
  std::vector<CheckedValue> values;
};

namespace tfevents_detail {

inline uint32_t crc32c_bitwise(const std::string& bytes) {
  uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char byte : bytes) {
    crc ^= byte;
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
  }
  return crc ^ 0xFFFFFFFFu;
}

inline uint32_t masked(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8u; }

inline uint64_t little_endian(const std::string& bytes, size_t at, int size) {
  uint64_t value = 0;
  for (int i = size - 1; i >= 0; --i) value = (value << 8) | static_cast<unsigned char>(bytes.at(at + i));
  return value;
}

struct Field {
  int wire = 0;
  uint64_t number = 0;  // varint or fixed bits
  std::string bytes;
};
using Fields = std::multimap<int, Field>;

inline uint64_t read_varint(const std::string& in, size_t& at) {
  uint64_t value = 0;
  int shift = 0;
  while (true) {
    if (at >= in.size() || shift > 63) throw std::runtime_error("bad varint");
    const unsigned char b = static_cast<unsigned char>(in[at++]);
    value |= static_cast<uint64_t>(b & 0x7F) << shift;
    if (!(b & 0x80)) return value;
    shift += 7;
  }
}

inline Fields parse(const std::string& in) {
  Fields fields;
  size_t at = 0;
  while (at < in.size()) {
    const uint64_t key = read_varint(in, at);
    Field f;
    f.wire = static_cast<int>(key & 7);
    if (f.wire == 0) {
      f.number = read_varint(in, at);
    } else if (f.wire == 1 || f.wire == 5) {
      const int size = f.wire == 1 ? 8 : 4;
      if (at + size > in.size()) throw std::runtime_error("truncated fixed field");
      f.number = little_endian(in, at, size);
      at += size;
    } else if (f.wire == 2) {
      const uint64_t length = read_varint(in, at);
      if (length > in.size() - at) throw std::runtime_error("length past the end");
      f.bytes = in.substr(at, length);
      at += length;
    } else {
      throw std::runtime_error("unexpected wire type " + std::to_string(f.wire));
    }
    fields.emplace(static_cast<int>(key >> 3), f);
  }
  return fields;
}

inline const Field* one(const Fields& fields, int number) {
  auto it = fields.find(number);
  return it == fields.end() ? nullptr : &it->second;
}

inline double as_double(const Field* f) {
  if (f == nullptr) return 0;
  if (f->wire != 1) throw std::runtime_error("double field with wire type " + std::to_string(f->wire));
  double d;
  std::memcpy(&d, &f->number, 8);
  return d;
}

inline std::vector<double> packed_doubles(const Fields& fields, int number) {
  std::vector<double> out;
  auto range = fields.equal_range(number);
  for (auto it = range.first; it != range.second; ++it) {
    if (it->second.wire != 2 || it->second.bytes.size() % 8 != 0)
      throw std::runtime_error("repeated double not packed");
    for (size_t i = 0; i < it->second.bytes.size(); i += 8) {
      const uint64_t bits = little_endian(it->second.bytes, i, 8);
      double d;
      std::memcpy(&d, &bits, 8);
      out.push_back(d);
    }
  }
  return out;
}

inline CheckedValue parse_value(const std::string& bytes) {
  const Fields v = parse(bytes);
  CheckedValue value;
  value.kind = "other";
  if (const Field* tag = one(v, 1)) value.tag = tag->bytes;
  if (const Field* simple = one(v, 2)) {
    if (simple->wire != 5) throw std::runtime_error("simple_value is not a float");
    value.kind = "scalar";
    const auto bits = static_cast<uint32_t>(simple->number);
    std::memcpy(&value.simple_value, &bits, 4);
  }
  if (const Field* image = one(v, 4)) {
    const Fields im = parse(image->bytes);
    value.kind = "image";
    value.height = one(im, 1) ? static_cast<int64_t>(one(im, 1)->number) : 0;
    value.width = one(im, 2) ? static_cast<int64_t>(one(im, 2)->number) : 0;
    value.colorspace = one(im, 3) ? static_cast<int64_t>(one(im, 3)->number) : 0;
    value.png = one(im, 4) ? one(im, 4)->bytes : "";
  }
  if (const Field* histo = one(v, 5)) {
    const Fields h = parse(histo->bytes);
    value.kind = "histo";
    value.histo_min = as_double(one(h, 1));
    value.histo_max = as_double(one(h, 2));
    value.histo_num = as_double(one(h, 3));
    const std::vector<double> limits = packed_doubles(h, 6), buckets = packed_doubles(h, 7);
    value.bucket_limits = limits.size();
    value.buckets = buckets.size();
    for (double b : buckets) value.bucket_total += b;
  }
  if (const Field* metadata = one(v, 9)) {
    const Fields m = parse(metadata->bytes);
    if (const Field* plugin_data = one(m, 1)) {
      const Fields p = parse(plugin_data->bytes);
      if (const Field* name = one(p, 1)) value.plugin = name->bytes;
    }
  }
  if (const Field* tensor = one(v, 8)) {
    const Fields t = parse(tensor->bytes);
    if (one(t, 1) && one(t, 1)->number == 7 && one(t, 8)) {  // DT_STRING
      value.kind = "text";
      value.text = one(t, 8)->bytes;
    }
  }
  return value;
}

}  // namespace tfevents_detail

// Every event of `path`; throws std::runtime_error naming the record on a
// checksum mismatch, a truncated record or bytes that do not parse.
inline std::vector<CheckedEvent> read_events_independently(const std::string& path) {
  using namespace tfevents_detail;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open");
  const std::string file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<CheckedEvent> events;
  size_t at = 0;
  while (at < file.size()) {
    const std::string where =
        path + ": record " + std::to_string(events.size()) + " at byte " + std::to_string(at);
    if (file.size() - at < 12) throw std::runtime_error(where + ": truncated header");
    const uint64_t length = little_endian(file, at, 8);
    if (masked(crc32c_bitwise(file.substr(at, 8))) != little_endian(file, at + 8, 4))
      throw std::runtime_error(where + ": length CRC mismatch");
    if (length > file.size() - at - 16) throw std::runtime_error(where + ": truncated data");
    const std::string data = file.substr(at + 12, length);
    if (masked(crc32c_bitwise(data)) != little_endian(file, at + 12 + length, 4))
      throw std::runtime_error(where + ": data CRC mismatch");
    at += 16 + length;

    const Fields e = parse(data);
    CheckedEvent event;
    event.wall_time = as_double(one(e, 1));
    if (const Field* step = one(e, 2)) event.step = static_cast<int64_t>(step->number);
    if (const Field* version = one(e, 3)) event.file_version = version->bytes;
    if (const Field* summary = one(e, 5)) {
      const Fields s = parse(summary->bytes);
      auto range = s.equal_range(1);
      for (auto it = range.first; it != range.second; ++it)
        event.values.push_back(parse_value(it->second.bytes));
    }
    events.push_back(event);
  }
  return events;
}

// What every event file below `folder` holds, each read with read_events_independently.
struct EventCounts {
  size_t files = 0, scalars = 0, images = 0;
};
inline EventCounts count_events_independently(const std::string& folder) {
  EventCounts counts;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(folder)) {
    if (entry.path().filename().string().find("tfevents") == std::string::npos) continue;
    ++counts.files;
    for (const CheckedEvent& event : read_events_independently(entry.path().string()))
      for (const CheckedValue& value : event.values) {
        counts.scalars += value.kind == "scalar" ? 1 : 0;
        counts.images += value.kind == "image" && !value.png.empty() ? 1 : 0;
      }
  }
  return counts;
}

}  // namespace pneumoscan::test
