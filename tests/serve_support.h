#pragma once
// Test helpers for the HTTP service: an in-process server on a free port, and
// raw-socket clients that send what a browser never would (hostile requests,
// half-sent headers, connections from other loopback addresses).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <utility>

#include "serve/http_server.h"

namespace pneumoscan::test {

// An HttpService on a free port, served from a background thread.
struct LiveServer {
  HttpService service;
  int port;
  std::thread thread;

  explicit LiveServer(ServeConfig config, bool keep_threads = false)
      : service(with_any_port(std::move(config), keep_threads)), port(service.bind()) {
    thread = std::thread([this] { service.run(); });
  }
  ~LiveServer() {
    service.stop();
    thread.join();
  }
  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(120, 0);
    c.set_write_timeout(120, 0);
    return c;
  }
  static ServeConfig with_any_port(ServeConfig config, bool keep_threads) {
    config.port = 0;
    if (!keep_threads) config.threads = 24;
    return config;
  }
};

inline void expect_json_error(const httplib::Result& res, int status) {
  ASSERT_TRUE(res) << "no response: " << httplib::to_string(res.error());
  EXPECT_EQ(res->status, status) << res->body;
  const nlohmann::json body = nlohmann::json::parse(res->body, nullptr, /*allow_exceptions=*/false);
  ASSERT_TRUE(body.is_object()) << "not JSON: " << res->body;
  EXPECT_FALSE(body.value("error", "").empty()) << res->body;
}

// `from`: the client's own loopback address (any of 127.0.0.0/8), to act as another client.
inline int connect_to(int port, const char* from = nullptr) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (from) {
    sockaddr_in source{};
    source.sin_family = AF_INET;
    inet_pton(AF_INET, from, &source.sin_addr);
    EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&source), sizeof source), 0) << from;
  }
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<uint16_t>(port));
  EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  return fd;
}

inline bool send_all(int fd, const std::string& data) {
  size_t sent = 0;
  while (sent < data.size()) {
    const ssize_t n = send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  return true;
}

// One HTTP response (headers and a Content-Length body), or what arrived
// before the peer closed or `timeout_ms` passed.
inline std::string read_response(int fd, int timeout_ms = 10000) {
  std::string response;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    const size_t end = response.find("\r\n\r\n");
    if (end != std::string::npos) {
      std::smatch length;
      const std::string head = response.substr(0, end);
      if (std::regex_search(head, length, std::regex("Content-Length: (\\d+)", std::regex::icase)) &&
          response.size() >= end + 4 + std::stoul(length[1].str()))
        break;
    }
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 50) <= 0) continue;
    char buffer[65536];
    const ssize_t n = recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) break;
    response.append(buffer, static_cast<size_t>(n));
  }
  return response;
}

inline int status_of(const std::string& response) {
  return response.rfind("HTTP/1.", 0) == 0 && response.size() > 12 ? std::stoi(response.substr(9, 3)) : -1;
}

// The "error" of the first response in `response` (its body by Content-Length:
// a server that goes on reading a refused stream may have answered more).
inline std::string error_of(const std::string& response) {
  const size_t body = response.find("\r\n\r\n");
  if (body == std::string::npos) return "";
  std::smatch length;
  const std::string head = response.substr(0, body);
  const size_t size = std::regex_search(head, length, std::regex("Content-Length: (\\d+)", std::regex::icase))
                          ? std::stoul(length[1].str())
                          : std::string::npos;
  const nlohmann::json parsed = nlohmann::json::parse(response.substr(body + 4, size), nullptr, false);
  return parsed.is_object() ? parsed.value("error", "") : "";
}

// Sends `request` on a fresh connection and returns the response and how long it took.
inline std::pair<std::string, double> http_exchange(int port, const std::string& request) {
  const int fd = connect_to(port);
  const auto start = std::chrono::steady_clock::now();
  send_all(fd, request);
  std::string response = read_response(fd);
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  close(fd);
  return {response, ms};
}

// Checks every line of the exposition format; returns sample name{labels} -> value.
inline std::map<std::string, double> parse_prometheus(const std::string& text) {
  static const std::regex sample(
      R"(^([a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="[^"]*"(,[a-zA-Z_][a-zA-Z0-9_]*="[^"]*")*\})?) ([-+0-9.eE]+|\+Inf|NaN)$)");
  static const std::regex comment(R"(^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .+$)");
  std::map<std::string, double> samples;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    std::smatch m;
    if (std::regex_match(line, comment)) continue;
    EXPECT_TRUE(std::regex_match(line, m, sample)) << "not Prometheus text: '" << line << "'";
    if (!m.empty()) samples[m[1].str()] = std::stod(m[4].str());
  }
  return samples;
}

}  // namespace pneumoscan::test
