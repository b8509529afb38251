// libFuzzer target: TensorBoard event files as `pneumoscan board` reads them
// (monitor/event_reader.h records and checksums, event_proto.h's protobuf
// decoding, board/run_store.h's summaries: scalars, images, texts,
// histograms), the file growing in two steps as while a run writes it.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>

#include "board/run_store.h"
#include "core/errors.h"
#include "monitor/event_reader.h"

namespace {

const std::string& logdir() {
  static const std::string dir = [] {
    const std::string d = (access("/dev/shm", W_OK) == 0 ? std::string("/dev/shm") : std::string("/tmp")) +
                          "/pneumoscan-fuzz-board-" + std::to_string(getpid());
    std::filesystem::create_directories(d + "/run");
    return d;
  }();
  return dir;
}

void write_bytes(const std::string& path, const uint8_t* data, size_t size, const char* mode) {
  FILE* file = std::fopen(path.c_str(), mode);
  if (file == nullptr || std::fwrite(data, 1, size, file) != size || std::fclose(file) != 0) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = logdir() + "/run/events.out.tfevents.1.fuzz";
  const size_t first = size / 2;
  write_bytes(path, data, first, "wb");
  pneumoscan::RunStore store(logdir(), 10'000);
  store.set_min_interval(std::chrono::milliseconds(0));
  (void)store.runs();
  write_bytes(path, data + first, size - first, "ab");
  (void)store.scalars_since(0);
  const nlohmann::json runs = store.runs();
  for (const auto& run : runs) {
    const nlohmann::json images = run.value("images", nlohmann::json::object());
    for (const auto& [tag, image] : images.items())
      (void)store.latest_image(run.at("name").get<std::string>(), tag);
  }
  try {
    (void)pneumoscan::read_event_file(path);
  } catch (const pneumoscan::Error&) {
  }
  return 0;
}
