#include "core/checked_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/errors.h"

namespace pneumoscan {

std::string write_failure(int error) {
  if (error == ENOSPC || error == EDQUOT) return "write failed: the disk is full";
  if (error == EFBIG) return "write failed: the file would exceed this process's file size limit (ulimit -f)";
  if (error != 0) return "write failed: " + std::string(std::strerror(error));
  return "write failed";
}

CheckedFileWriter::CheckedFileWriter(const std::string& file, std::string name) : name_(std::move(name)) {
  fd_ = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) throw IoError(name_, std::string("cannot open for writing: ") + std::strerror(errno));
}

CheckedFileWriter::~CheckedFileWriter() {
  if (fd_ >= 0) ::close(fd_);
}

void CheckedFileWriter::write(const void* data, size_t size) noexcept {
  const char* bytes = static_cast<const char*>(data);
  while (error_ == 0 && size > 0) {
    const ssize_t written = ::write(fd_, bytes, size);
    if (written < 0) {
      if (errno != EINTR) error_ = errno;
      continue;
    }
    bytes += written;
    size -= static_cast<size_t>(written);
  }
}

void CheckedFileWriter::finish() {
  // A full disk may show only here (delayed allocation, network file systems).
  if (error_ == 0 && ::fsync(fd_) != 0) error_ = errno;
  if (::close(fd_) != 0 && error_ == 0) error_ = errno;
  fd_ = -1;
  if (error_ != 0) throw IoError(name_, write_failure(error_));
}

}  // namespace pneumoscan
