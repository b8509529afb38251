#include "data/image_store.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/errors.h"
#include "core/hash.h"
#include "core/json_text.h"

namespace pneumoscan {
namespace {

const std::string kMagic = "PNEUMOSCAN-IMAGES 1\n";
constexpr size_t kAlignment = 4096;  // pixels start on a page

uint64_t hash_text(const std::string& text, uint64_t hash) { return fnv1a64(text.data(), text.size(), hash); }

// What decides the prepared pixels: the preparation and each file's identity.
uint64_t pack_key(const std::vector<Sample>& samples, const PreprocessConfig& config) {
  uint64_t key = hash_text(kMagic + "size " + std::to_string(config.input_size), 14695981039346656037ull);
  for (const Sample& s : samples) {
    struct stat status {};
    const bool found = ::stat(s.path.c_str(), &status) == 0;
    key = hash_text(s.path, key);
    key = hash_text(found ? std::to_string(status.st_size) + ":" + std::to_string(status.st_mtim.tv_sec) +
                                "." + std::to_string(status.st_mtim.tv_nsec)
                          : std::string("missing"),
                    key);
  }
  return key;
}

struct Mapping {
  void* address = MAP_FAILED;
  size_t size = 0;
  ~Mapping() {
    if (address != MAP_FAILED) munmap(address, size);
  }
};

}  // namespace

std::string image_store_dir() {
  const char* dir = std::getenv("PNEUMOSCAN_CACHE_DIR");
  return dir != nullptr ? dir : "";
}

std::string image_store_path(const std::string& dir, const std::vector<Sample>& samples,
                             const PreprocessConfig& config) {
  return (std::filesystem::path(dir) / (hex64(pack_key(samples, config)) + ".psimages")).string();
}

std::optional<StoredImages> load_stored_images(const std::string& dir, const std::vector<Sample>& samples,
                                               const PreprocessConfig& config) {
  if (dir.empty() || samples.empty()) return std::nullopt;
  const std::string path = image_store_path(dir, samples, config);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  struct stat status {};
  auto mapping = std::make_shared<Mapping>();
  if (::fstat(fd, &status) == 0 && status.st_size > 0) {
    mapping->size = static_cast<size_t>(status.st_size);
    mapping->address = ::mmap(nullptr, mapping->size, PROT_READ, MAP_PRIVATE, fd, 0);
  }
  ::close(fd);
  if (mapping->address == MAP_FAILED) return std::nullopt;
  const auto* bytes = static_cast<const unsigned char*>(mapping->address);
  const size_t size = mapping->size;
  try {
    if (size < kMagic.size() + 8 || std::memcmp(bytes, kMagic.data(), kMagic.size()) != 0)
      return std::nullopt;
    uint64_t header_length = 0;
    std::memcpy(&header_length, bytes + kMagic.size(), 8);
    const size_t header_at = kMagic.size() + 8;
    if (header_length > size - header_at) return std::nullopt;
    const nlohmann::json header =
        nlohmann::json::parse(std::string(reinterpret_cast<const char*>(bytes + header_at), header_length));
    const size_t side = header.at("side").get<size_t>();
    const size_t count = header.at("count").get<size_t>();
    const size_t pixels_at = header.at("pixels_at").get<size_t>();
    std::vector<std::string> failures = header.at("failures").get<std::vector<std::string>>();
    if (side != static_cast<size_t>(config.input_size) || count != samples.size() ||
        failures.size() != count || pixels_at < header_at + header_length || pixels_at > size)
      return std::nullopt;
    size_t decoded = 0;
    for (const std::string& f : failures) decoded += f.empty() ? 1 : 0;
    if ((size - pixels_at) / (side * side) != decoded || (size - pixels_at) % (side * side) != 0)
      return std::nullopt;
    if (hex64(fnv1a64(bytes + pixels_at, size - pixels_at)) != header.at("checksum").get<std::string>())
      return std::nullopt;
    StoredImages stored;
    stored.images.resize(count);
    const unsigned char* next = bytes + pixels_at;
    for (size_t i = 0; i < count; ++i) {
      if (!failures[i].empty()) continue;
      // A read-only view: cv::Mat takes a non-const pointer, but nothing writes into a cache image.
      stored.images[i] =
          cv::Mat(static_cast<int>(side), static_cast<int>(side), CV_8UC1, const_cast<unsigned char*>(next));
      next += side * side;
    }
    stored.failures = std::move(failures);
    stored.mapping = mapping;
    return stored;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

bool store_images(const std::string& dir, const std::vector<Sample>& samples, const PreprocessConfig& config,
                  const std::vector<cv::Mat>& images, const std::vector<std::string>& failures) {
  if (dir.empty() || samples.empty() || images.size() != samples.size() || failures.size() != samples.size())
    return false;
  const size_t side = static_cast<size_t>(config.input_size);
  // The checksum runs over the rows as they will be written, so the pixels are copied once, into the file's
  // bytes.
  uint64_t checksum = 14695981039346656037ull;
  size_t decoded = 0;
  for (size_t i = 0; i < images.size(); ++i) {
    if (!failures[i].empty()) continue;
    const cv::Mat& image = images[i];
    if (image.type() != CV_8UC1 || image.rows != config.input_size || image.cols != config.input_size)
      return false;
    for (int row = 0; row < image.rows; ++row) checksum = fnv1a64(image.ptr(row), side, checksum);
    ++decoded;
  }
  nlohmann::json header = {{"side", side},
                           {"count", samples.size()},
                           {"failures", failures},
                           {"checksum", hex64(checksum)},
                           {"pixels_at", 0}};
  // The header says where the pixels start; its own length depends on that number: fix it at a page boundary.
  std::string header_text;
  size_t pixels_at = 0;
  for (int round = 0; round < 3; ++round) {
    header_text = json_text(header);
    const size_t end = kMagic.size() + 8 + header_text.size();
    pixels_at = (end + kAlignment - 1) / kAlignment * kAlignment;
    header["pixels_at"] = pixels_at;
  }
  header_text = json_text(header);
  if (kMagic.size() + 8 + header_text.size() > pixels_at) return false;
  std::string bytes = kMagic;
  bytes.reserve(pixels_at + decoded * side * side);
  const uint64_t header_length = header_text.size();
  bytes.append(reinterpret_cast<const char*>(&header_length), 8);
  bytes += header_text;
  bytes.resize(pixels_at, '\0');
  for (size_t i = 0; i < images.size(); ++i)
    if (failures[i].empty())
      for (int row = 0; row < images[i].rows; ++row) bytes.append(images[i].ptr<char>(row), side);
  try {
    std::filesystem::create_directories(dir);
    write_file_atomically(image_store_path(dir, samples, config), bytes);
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace pneumoscan
