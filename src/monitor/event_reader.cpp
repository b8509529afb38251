#include "monitor/event_reader.h"

#include <algorithm>
#include <fstream>

#include "core/errors.h"
#include "monitor/proto_wire.h"
#include "monitor/tfrecord.h"

namespace pneumoscan {

size_t EventFileReader::poll(const std::function<void(const Event&)>& on_event, size_t max_bytes) {
  if (stopped_) return 0;
  std::ifstream in(path_, std::ios::binary);
  if (!in) {
    error_ = path_ + ": cannot be read";
    return 0;
  }
  in.seekg(0, std::ios::end);
  const uint64_t size = static_cast<uint64_t>(std::max<std::streamoff>(in.tellg(), 0));
  const uint64_t position = offset_ + pending_.size();
  // Never hold more than one maximal record plus this read.
  const uint64_t room = kMaxRecordBytes + 16 - std::min<uint64_t>(pending_.size(), kMaxRecordBytes);
  const uint64_t wanted = size > position ? std::min<uint64_t>({size - position, max_bytes, room}) : 0;
  if (wanted > 0) {
    const size_t before = pending_.size();
    pending_.resize(before + wanted);
    in.seekg(static_cast<std::streamoff>(position));
    in.read(pending_.data() + before, static_cast<std::streamsize>(wanted));
    pending_.resize(before + static_cast<size_t>(std::max<std::streamsize>(in.gcount(), 0)));
  }

  size_t delivered = 0, used = 0;
  while (true) {
    const RecordRead record = read_record(std::string_view(pending_).substr(used));
    if (record.status == RecordRead::Status::kNeedMore) break;
    if (record.status == RecordRead::Status::kCorrupt) {
      error_ = path_ + ": " + record.problem + " at byte " + std::to_string(offset_ + used) +
               "; the rest of the file is ignored";
      stopped_ = true;
      break;
    }
    try {
      on_event(decode_event(record.data));
      ++delivered;
    } catch (const ProtoError& e) {
      error_ = path_ + ": record at byte " + std::to_string(offset_ + used) + " is not an event (" +
               e.what() + ")";
    }
    used += record.size;
  }
  offset_ += used;
  pending_.erase(0, used);
  return delivered;
}

std::vector<Event> read_event_file(const std::string& path) {
  std::ifstream probe(path, std::ios::binary);
  if (!probe) throw IoError(path, "cannot be read");
  probe.close();
  EventFileReader reader(path);
  std::vector<Event> events;
  uint64_t before = 0;
  do {
    before = reader.offset();
    reader.poll([&](const Event& e) { events.push_back(e); }, static_cast<size_t>(kMaxRecordBytes) + 16);
    if (!reader.error().empty()) throw InputError(path, reader.error().substr(path.size() + 2));
  } while (reader.offset() != before);
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  const auto size = static_cast<uint64_t>(in.tellg());
  if (size != reader.offset())
    throw InputError(path, "truncated record at byte " + std::to_string(reader.offset()) + " (file has " +
                               std::to_string(size) + " bytes)");
  return events;
}

bool is_event_file_name(const std::string& file_name) {
  return file_name.find("tfevents") != std::string::npos;
}

}  // namespace pneumoscan
