#include "serve/http_upload.h"

#include <algorithm>
#include <cctype>

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

Upload from_form(const httplib::Request& request) {
  if (request.files.empty()) throw HttpError(400, "multipart form has no file field (expected 'file')");
  auto part = request.files.find("file");
  if (part == request.files.end()) part = request.files.begin();  // a form naming its field otherwise
  Upload upload;
  upload.bytes.assign(part->second.content.begin(), part->second.content.end());
  upload.name = part->second.filename.empty() ? "form field '" + part->first + "'" : part->second.filename;
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

Upload read_upload(const httplib::Request& request) {
  const std::string type = media_type(request.get_header_value("Content-Type"));
  if (type == "multipart/form-data") return from_form(request);
  const auto& accepted = accepted_upload_types();
  if (std::find(accepted.begin(), accepted.end(), type) == accepted.end()) {
    std::string list;
    for (const std::string& t : accepted) list += (list.empty() ? "" : ", ") + t;
    throw HttpError(415, "unsupported Content-Type '" + (type.empty() ? std::string("none") : type) +
                             "' (send one of: " + list + ")");
  }
  if (request.body.empty()) throw HttpError(400, "empty request body (send the X-ray file as the body)");
  Upload upload;
  upload.bytes.assign(request.body.begin(), request.body.end());
  upload.name = "request body";
  return upload;
}

}  // namespace pneumoscan
