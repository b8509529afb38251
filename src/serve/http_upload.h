#pragma once
// Getting the X-ray out of a predict request: a raw body (image/png,
// image/jpeg, application/dicom, application/octet-stream, ...) or a
// multipart/form-data form with a file field. The bytes, not the declared
// type, decide the format (image/decode.cpp sniffs them).
#include <httplib.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/errors.h"

namespace pneumoscan {

// A request the service answers with `status` and {"error": message}.
struct HttpError : Error {
  int status;
  HttpError(int status_code, const std::string& message) : Error(message), status(status_code) {}
};

struct Upload {
  std::vector<uint8_t> bytes;
  std::string name;  // for error messages: the form's file name or "request body"
};

// The media types accepted as a raw body, for messages and docs.
const std::vector<std::string>& accepted_upload_types();

// Throws HttpError 415 for another Content-Type, 400 for an empty body or a
// form without a file.
Upload read_upload(const httplib::Request& request);

}  // namespace pneumoscan
