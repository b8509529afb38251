#pragma once
// What the HTTP service does per connection that cpp-httplib 0.11 (Debian 12)
// cannot: close a connection after a refusal, cap the connections one client
// address holds, and drop clients that trickle a request's headers.
//
// httplib runs each connection, accept to close, as one task on one worker
// thread and keeps it alive after a handler set "Connection: close": what is
// left of a refused body (a chunked upload past --max-body-mb went on for
// 65 MiB) is then read as the next request. It has no accept hook either, so a
// client is counted from its first request's headers: connections that never
// send a request are dropped by the read timeout instead.
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>

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

// Drops connections that take too long to send a request's headers
// (slowloris). httplib's read timeout is per read, so a client sending a byte
// every few seconds held a worker thread as long as it liked, and was not
// counted against its address's limit before its headers were complete. A
// watchdog thread scans this process's sockets on the service's port every
// `interval` (/proc/self/fd) and shuts down (SHUT_RDWR: httplib's blocked
// read ends and httplib closes the descriptor itself) each connection that
// has been outside a request for longer than `limit`, counted from when the
// scan first saw it or from the end of its last request. httplib closes
// keep-alive connections idle for 2 s itself, so a deadline of several
// seconds only ever meets a partial request. The same scan counts every
// connection of a client address, in a request or not, and beyond
// `max_per_client` (0 = no limit) shuts down those that have waited longest
// outside a request (idle for a second at least: a fresh connection is
// about to send its request).
class SlowClientWatchdog {
 public:
  struct Options {
    int port = 0;  // the service's bound port
    std::chrono::milliseconds limit{10000};
    std::chrono::milliseconds interval{500};
    size_t max_per_client = 0;
  };
  explicit SlowClientWatchdog(Options options);  // starts the thread
  ~SlowClientWatchdog();                         // stops it
  SlowClientWatchdog(const SlowClientWatchdog&) = delete;
  SlowClientWatchdog& operator=(const SlowClientWatchdog&) = delete;

  // The service's hooks, with httplib's Request::remote_addr/remote_port:
  // headers complete (pre-routing) and response written (logger).
  void request_started(const std::string& address, int port);
  void request_finished(const std::string& address, int port);

  // Connections shut down so far.
  size_t dropped() const { return dropped_; }

 private:
  struct Seen {
    std::chrono::steady_clock::time_point idle_since;
    bool in_request = false;
  };
  void run();
  void scan();

  const Options options_;
  std::atomic<size_t> dropped_{0};
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::map<std::string, Seen> seen_;  // by "address port" of the client
  std::thread thread_;
};

}  // namespace pneumoscan
