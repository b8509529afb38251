#pragma once
// A file written piece by piece for writers that must not see a failure:
// LibTorch's archive writer throws from its destructor after a short write,
// which ends the process, so a full disk once crashed `train` mid-run. Every
// piece is accepted; the first error is kept and finish() reports it as an
// IoError naming the file, in the user's terms.
#include <cstddef>
#include <string>

namespace pneumoscan {

// "write failed: the disk is full", "... over this process's file size limit
// (ulimit -f)", or "write failed: <the system's words>", for an errno value.
std::string write_failure(int error);

class CheckedFileWriter {
 public:
  // Creates or truncates `file`; errors name `name` (the final path when
  // `file` is a temporary beside it). Throws IoError when it cannot be created.
  CheckedFileWriter(const std::string& file, std::string name);
  ~CheckedFileWriter();
  CheckedFileWriter(const CheckedFileWriter&) = delete;
  CheckedFileWriter& operator=(const CheckedFileWriter&) = delete;

  // Appends; after an error it does nothing (the error waits for finish()).
  void write(const void* data, size_t size) noexcept;
  // Flushes to disk and closes; IoError naming the file for the first error.
  void finish();

 private:
  int fd_ = -1;
  int error_ = 0;
  std::string name_;
};

}  // namespace pneumoscan
