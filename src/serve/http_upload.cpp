#include "serve/http_upload.h"

#include <algorithm>
#include <cctype>

#include "core/text.h"

namespace pneumoscan {
namespace {

// "Image/PNG; charset=x" -> "image/png".
std::string media_type(const std::string& content_type) {
  std::string type = content_type.substr(0, content_type.find(';'));
  type.erase(std::remove_if(type.begin(), type.end(), [](unsigned char c) { return std::isspace(c); }),
             type.end());
  std::transform(type.begin(), type.end(), type.begin(), [](unsigned char c) { return std::tolower(c); });
  return type;
}

struct FormPart {
  std::string field;
  std::string filename;
  std::string content;
};

Upload from_form(const httplib::ContentReader& content, size_t max_bytes) {
  std::vector<FormPart> parts;
  size_t received = 0;
  bool too_large = false, too_many = false;
  const bool complete = content(
      [&](const httplib::MultipartFormData& header) {
        if (parts.size() >= kMaxFormParts) return !(too_many = true);
        parts.push_back({header.name, header.filename, {}});
        return true;
      },
      [&](const char* data, size_t length) {
        if (parts.empty()) return false;
        received += length;
        if (received > max_bytes) return !(too_large = true);
        parts.back().content.append(data, length);
        return true;
      });
  if (too_large) throw HttpError(413, body_too_large_message(max_bytes));
  if (too_many)
    throw HttpError(400, "multipart form has more than " + std::to_string(kMaxFormParts) + " parts");
  if (!complete)
    throw HttpError(
        400, "malformed multipart/form-data body (no boundary in the Content-Type, or parts cut short)");
  if (parts.empty()) throw HttpError(400, "multipart form has no file field (expected 'file')");
  auto part = std::find_if(parts.begin(), parts.end(), [](const FormPart& p) { return p.field == "file"; });
  if (part == parts.end()) part = parts.begin();  // a form naming its field otherwise
  Upload upload;
  upload.bytes.assign(part->content.begin(), part->content.end());
  upload.name = part->filename.empty() ? "form field " + quoted_excerpt(part->field) : part->filename;
  if (upload.bytes.empty()) throw HttpError(400, upload.name + ": empty file");
  return upload;
}

}  // namespace

const std::vector<std::string>& accepted_upload_types() {
  static const std::vector<std::string> types = {"image/png",          "image/jpeg",
                                                 "image/bmp",          "image/tiff",
                                                 "application/dicom",  "application/octet-stream",
                                                 "multipart/form-data"};
  return types;
}

std::string body_too_large_message(size_t max_bytes) {
  return "request body too large (limit " +
         (max_bytes % (1u << 20) == 0 ? std::to_string(max_bytes >> 20) + " MB"
                                      : std::to_string(max_bytes) + " bytes") +
         ", --max-body-mb)";
}

BodyCheck check_body_headers(const httplib::Request& request, size_t max_bytes) {
  const std::string length_text = request.get_header_value("Content-Length");
  const std::string encoding = request.get_header_value("Transfer-Encoding");
  const bool has_length = request.has_header("Content-Length");
  if (request.get_header_value_count("Content-Length") > 1)
    return {false, 400, "bad request: Content-Length given twice"};
  if (has_length && !encoding.empty())
    return {false, 400, "bad request: both Content-Length and Transfer-Encoding given"};
  if (!encoding.empty() && encoding != "chunked")
    return {false, 501,
            "Transfer-Encoding " + quoted_excerpt(encoding) + " not supported (use chunked or none)"};
  uint64_t length = 0;
  if (has_length) {
    const bool digits =
        !length_text.empty() && length_text.size() <= 18 &&
        std::all_of(length_text.begin(), length_text.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!digits)
      return {false, 400,
              "bad request: invalid Content-Length " + quoted_excerpt(length_text) +
                  " (expected a whole number of bytes)"};
    length = std::stoull(length_text);
    if (length > max_bytes) return {true, 413, body_too_large_message(max_bytes)};
  }
  return {length > 0 || encoding == "chunked", 0, ""};
}

Upload read_upload(const httplib::Request& request, const httplib::ContentReader& content, size_t max_bytes) {
  const std::string type = media_type(request.get_header_value("Content-Type"));
  if (type == "multipart/form-data") return from_form(content, max_bytes);
  const auto& accepted = accepted_upload_types();
  if (std::find(accepted.begin(), accepted.end(), type) == accepted.end()) {
    std::string list;
    for (const std::string& t : accepted) list += (list.empty() ? "" : ", ") + t;
    throw HttpError(415, "unsupported Content-Type " +
                             (type.empty() ? std::string("'none'") : quoted_excerpt(type)) +
                             " (send one of: " + list + ")");
  }
  Upload upload;
  bool too_large = false;
  const bool complete = content([&](const char* data, size_t length) {
    if (length > max_bytes - upload.bytes.size()) return !(too_large = true);
    upload.bytes.insert(upload.bytes.end(), data, data + length);
    return true;
  });
  if (too_large) throw HttpError(413, body_too_large_message(max_bytes));
  if (!complete)
    throw HttpError(400, "malformed or incomplete request body (chunked encoding broken or body cut short)");
  if (upload.bytes.empty()) throw HttpError(400, "empty request body (send the X-ray file as the body)");
  upload.name = "request body";
  return upload;
}

}  // namespace pneumoscan
