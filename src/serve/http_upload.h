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

// Reads the body through httplib's streaming reader, refusing it as soon as
// more than `max_bytes` arrived (chunked bodies included, which httplib
// itself would read whole). Throws HttpError 415 for another Content-Type
// (body left unread), 413 past `max_bytes`, 400 for a malformed chunked or
// multipart body, an empty body, a form without a file or with more than
// kMaxFormParts parts.
inline constexpr size_t kMaxFormParts = 16;
Upload read_upload(const httplib::Request& request, const httplib::ContentReader& content, size_t max_bytes);

// What the headers say about the body, before any of it is read: `status` 0
// when it may be read (`has_body`: a positive Content-Length or chunked);
// else 400 for an invalid or repeated Content-Length or both it and
// Transfer-Encoding, 413 for a Content-Length over `max_bytes`, 501 for a
// Transfer-Encoding other than chunked, with `message` saying which.
struct BodyCheck {
  bool has_body = false;
  int status = 0;
  std::string message;
};
BodyCheck check_body_headers(const httplib::Request& request, size_t max_bytes);

// The 413 message, naming the limit the way --max-body-mb sets it.
std::string body_too_large_message(size_t max_bytes);

}  // namespace pneumoscan
