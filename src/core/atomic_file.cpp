#include "core/atomic_file.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

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

void fsync_path(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "rb+");
  if (f == nullptr) return;
  std::fflush(f);
  ::fsync(fileno(f));
  std::fclose(f);
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
    fsync_path(tmp);
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
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw IoError(path, std::string("cannot open for writing: ") + std::strerror(errno));
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.flush();
    if (!out) throw IoError(path, "write failed (disk full?)");
  });
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(path, std::string("cannot open: ") + std::strerror(errno));
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) throw IoError(path, "read failed");
  return buffer.str();
}

}  // namespace pneumoscan
