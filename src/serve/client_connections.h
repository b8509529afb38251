#pragma once
// What the HTTP service does per connection that cpp-httplib 0.11 (Debian 12)
// cannot: close a connection after a refusal, and cap the connections one
// client address holds.
//
// httplib runs each connection, accept to close, as one task on one worker
// thread and keeps it alive after a handler set "Connection: close": what is
// left of a refused body (a chunked upload past --max-body-mb went on for
// 65 MiB) is then read as the next request. It has no accept hook either, so a
// client is counted from its first request's headers: connections that never
// send a request are dropped by the read timeout instead.
#include <httplib.h>

#include <cstddef>
#include <map>
#include <mutex>
#include <string>

namespace pneumoscan {

// Ends the connection `request` came on. Call once its response was written
// (httplib's logger runs then), on the thread serving it. The client gets the
// end of the stream after the response; what it still sends is dropped for up
// to 2 s or 8 MiB (a reset on unread data would lose the response). The socket is
// replaced in place by /dev/null, so httplib's next read sees the end of the
// stream and its close() can never hit a reused descriptor. Returns false when
// the socket was not found (the client already hung up).
bool close_connection_after_response(const httplib::Request& request);

// Open connections per client address, at most `max_per_client` each (0 = no
// limit). Thread-safe.
class ClientConnectionLimit {
 public:
  explicit ClientConnectionLimit(size_t max_per_client) : max_per_client_(max_per_client) {}

  // Counts one more connection from `address`; false (and not counted) when
  // the address already holds the maximum.
  bool admit(const std::string& address);
  // Uncounts one connection admitted before.
  void release(const std::string& address);

  size_t open(const std::string& address) const;
  size_t max_per_client() const { return max_per_client_; }

 private:
  const size_t max_per_client_;
  mutable std::mutex mutex_;
  std::map<std::string, size_t> open_;
};

}  // namespace pneumoscan
