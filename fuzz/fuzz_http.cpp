// libFuzzer target: raw HTTP requests through cpp-httplib's request parser
// and the service's body handling (check_body_headers before the body,
// read_upload while it streams: raw, chunked, multipart), over an in-memory
// stream instead of a socket. Up to three requests per input (keep-alive).
#include <httplib.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/errors.h"
#include "serve/http_upload.h"

namespace {

constexpr size_t kMaxBody = 64 * 1024;

class MemoryStream : public httplib::Stream {
 public:
  MemoryStream(const uint8_t* data, size_t size) : data_(reinterpret_cast<const char*>(data)), size_(size) {}
  bool is_readable() const override { return position_ < size_; }
  bool is_writable() const override { return true; }
  ssize_t read(char* ptr, size_t size) override {
    const size_t n = std::min(size, size_ - position_);
    std::copy(data_ + position_, data_ + position_ + n, ptr);
    position_ += n;
    return static_cast<ssize_t>(n);
  }
  ssize_t write(const char*, size_t size) override { return static_cast<ssize_t>(size); }
  void get_remote_ip_and_port(std::string& ip, int& port) const override { ip = "127.0.0.1", port = 1; }
  void get_local_ip_and_port(std::string& ip, int& port) const override { ip = "127.0.0.1", port = 2; }
  socket_t socket() const override { return INVALID_SOCKET; }
  bool done() const { return position_ >= size_; }

 private:
  const char* data_;
  size_t size_;
  size_t position_ = 0;
};

class FuzzServer : public httplib::Server {
 public:
  FuzzServer() {
    set_pre_routing_handler([](const httplib::Request& req, httplib::Response& res) {
      const pneumoscan::BodyCheck check = pneumoscan::check_body_headers(req, kMaxBody);
      if (check.status == 0) return HandlerResponse::Unhandled;
      res.status = check.status;
      return HandlerResponse::Handled;
    });
    Post("/api/v1/predict",
         [](const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& content) {
           try {
             const pneumoscan::Upload upload = pneumoscan::read_upload(req, content, kMaxBody);
             if (upload.bytes.empty() || upload.bytes.size() > kMaxBody) std::abort();  // the contract
             res.status = 200;
           } catch (const pneumoscan::HttpError& e) {
             res.status = e.status;
           }
         });
  }
  bool feed(MemoryStream& stream) {
    bool closed = false;
    return process_request(stream, false, closed, [](httplib::Request&) {}) && !closed;
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static FuzzServer* server = new FuzzServer();
  MemoryStream stream(data, size);
  for (int i = 0; i < 3 && !stream.done(); ++i)
    if (!server->feed(stream)) break;
  return 0;
}
