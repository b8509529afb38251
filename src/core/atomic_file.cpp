#include "core/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <vector>

#include "core/checked_file.h"
#include "core/errors.h"

namespace pneumoscan {
namespace fs = std::filesystem;

namespace {
std::string temporary_name_for(const std::string& path) {
  std::random_device rd;
  std::ostringstream name;
  name << path << ".tmp-" << ::getpid() << "-" << std::hex << rd();
  return name.str();
}

// Makes the finished temporary file durable before it replaces the target: a
// full disk may show only here.
void sync_to_disk(const std::string& tmp, const std::string& path) {
  const int fd = ::open(tmp.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw IoError(path, write_failure(errno));
  const bool synced = ::fsync(fd) == 0;
  const int error = errno;
  ::close(fd);
  if (!synced) throw IoError(path, write_failure(error));
}
}  // namespace

void write_atomically(const std::string& path, const std::function<void(const std::string&)>& write) {
  const fs::path target(path);
  if (target.has_parent_path() && !fs::exists(target.parent_path())) {
    std::error_code ec;
    fs::create_directories(target.parent_path(), ec);
    if (ec) throw IoError(path, "cannot create folder: " + ec.message());
  }
  const std::string tmp = temporary_name_for(path);
  try {
    write(tmp);
    sync_to_disk(tmp, path);
  } catch (...) {
    std::error_code ec;
    fs::remove(tmp, ec);
    throw;
  }
  std::error_code ec;
  fs::rename(tmp, target, ec);
  if (ec) {
    fs::remove(tmp, ec);
    throw IoError(path, "cannot replace file: " + ec.message());
  }
}

void write_file_atomically(const std::string& path, const std::string& bytes) {
  write_atomically(path, [&](const std::string& tmp) {
    CheckedFileWriter out(tmp, path);
    out.write(bytes.data(), bytes.size());
    out.finish();
  });
}

std::string read_file(const std::string& path, uint64_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(path, std::string("cannot open: ") + std::strerror(errno));
  // In chunks, counting: the size the file system reports says nothing of a
  // pipe or a device, and a file can grow while it is read.
  std::string bytes;
  std::vector<char> chunk(1 << 16);
  while (in.read(chunk.data(), static_cast<std::streamsize>(chunk.size())) || in.gcount() > 0) {
    const auto got = static_cast<uint64_t>(in.gcount());
    if (got > max_bytes - bytes.size())
      throw IoError(path, "is larger than " +
                              (max_bytes >= (1u << 20) ? std::to_string(max_bytes >> 20) + " MiB"
                                                       : std::to_string(max_bytes) + " bytes") +
                              ", far more than a file of this kind holds; is it the right file?");
    bytes.append(chunk.data(), got);
  }
  if (in.bad()) throw IoError(path, "read failed");
  return bytes;
}

}  // namespace pneumoscan
