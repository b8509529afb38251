#pragma once
// One exception type per failure class. Front ends catch `Error` and print its
// message as one line; every message starts with the file it is about.
#include <stdexcept>
#include <string>

namespace pneumoscan {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A file or data item that cannot be used as input (unreadable, corrupt, wrong kind).
struct InputError : Error {
  InputError(const std::string& file, const std::string& problem) : Error(file + ": " + problem) {}
};

// A model file that is missing, corrupt, or does not match what is asked of it.
struct ModelFileError : Error {
  ModelFileError(const std::string& file, const std::string& problem) : Error(file + ": " + problem) {}
};

// Writing or reading failed at the file-system level.
struct IoError : Error {
  IoError(const std::string& file, const std::string& problem) : Error(file + ": " + problem) {}
};

// A user-supplied option that makes no sense.
struct UsageError : Error {
  using Error::Error;
};

}  // namespace pneumoscan
