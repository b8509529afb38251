#include "serve/client_connections.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

namespace pneumoscan {
namespace {

// "ip", port of a socket address, as httplib writes them into a Request.
bool address_of(const sockaddr_storage& address, std::string& ip, int& port) {
  char text[INET6_ADDRSTRLEN] = {};
  if (address.ss_family == AF_INET) {
    const auto& v4 = reinterpret_cast<const sockaddr_in&>(address);
    if (!inet_ntop(AF_INET, &v4.sin_addr, text, sizeof text)) return false;
    port = ntohs(v4.sin_port);
  } else if (address.ss_family == AF_INET6) {
    const auto& v6 = reinterpret_cast<const sockaddr_in6&>(address);
    if (!inet_ntop(AF_INET6, &v6.sin6_addr, text, sizeof text)) return false;
    port = ntohs(v6.sin6_port);
  } else {
    return false;
  }
  ip = text;
  return true;
}

// One of this process's connected sockets, with both ends as httplib writes
// them into a Request.
struct ConnectedSocket {
  int fd = -1;
  std::string local_ip, peer_ip;
  int local_port = -1, peer_port = -1;
};

// Every connected socket of this process (a scan of /proc/self/fd: the
// listening socket has no peer and is left out).
std::vector<ConnectedSocket> connected_sockets() {
  std::vector<ConnectedSocket> found;
  DIR* fds = opendir("/proc/self/fd");
  if (!fds) return found;
  while (dirent* entry = readdir(fds)) {
    char* end = nullptr;
    const long number = std::strtol(entry->d_name, &end, 10);
    if (end == entry->d_name || *end != '\0' || number == dirfd(fds)) continue;
    ConnectedSocket socket;
    socket.fd = static_cast<int>(number);
    struct stat status {};
    if (fstat(socket.fd, &status) != 0 || !S_ISSOCK(status.st_mode)) continue;
    sockaddr_storage peer{}, local{};
    socklen_t peer_size = sizeof peer, local_size = sizeof local;
    if (getsockname(socket.fd, reinterpret_cast<sockaddr*>(&local), &local_size) != 0 ||
        getpeername(socket.fd, reinterpret_cast<sockaddr*>(&peer), &peer_size) != 0)
      continue;
    if (address_of(local, socket.local_ip, socket.local_port) &&
        address_of(peer, socket.peer_ip, socket.peer_port))
      found.push_back(std::move(socket));
  }
  closedir(fds);
  return found;
}

// The descriptor of the connection `request` came on: the one socket of this
// process with its four addresses (scanned only for connections being closed).
int find_connection_socket(const httplib::Request& request) {
  for (const ConnectedSocket& socket : connected_sockets())
    if (socket.peer_port == request.remote_port && socket.local_port == request.local_port &&
        socket.peer_ip == request.remote_addr && socket.local_ip == request.local_addr)
      return socket.fd;
  return -1;
}

// A lingering close (as web servers do): the response is followed by FIN, and
// what the client still sends is read and dropped until it closes, for at most
// this long or this many bytes. Closing on unread data would answer with a
// reset, and a client still sending would lose the response it was given.
constexpr auto kLingerTime = std::chrono::seconds(2);
constexpr size_t kLingerBytes = 8u << 20;

void linger(int fd) {
  if (shutdown(fd, SHUT_WR) != 0) return;
  const auto deadline = std::chrono::steady_clock::now() + kLingerTime;
  size_t drained = 0;
  char buffer[65536];
  while (drained < kLingerBytes) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    pollfd ready{fd, POLLIN, 0};
    if (left.count() <= 0 || poll(&ready, 1, static_cast<int>(left.count())) <= 0) return;
    const ssize_t n = recv(fd, buffer, sizeof buffer, MSG_DONTWAIT);
    if (n <= 0) return;  // the client closed (or reset) too
    drained += static_cast<size_t>(n);
  }
}

// A connection is left this long to send its headers before the per-client
// limit may drop it: a client that just opened one is about to use it.
constexpr auto kCapGrace = std::chrono::seconds(1);

std::string connection_key(const std::string& address, int port) {
  return address + " " + std::to_string(port);
}

// The service's connections: this process's connected sockets with local
// port `port` (its own outgoing connections have other local ports).
std::vector<ConnectedSocket> service_sockets(int port) {
  std::vector<ConnectedSocket> found = connected_sockets();
  found.erase(std::remove_if(found.begin(), found.end(),
                             [port](const ConnectedSocket& socket) { return socket.local_port != port; }),
              found.end());
  return found;
}

// Shuts `socket` down when its descriptor still holds that connection (it may
// have been closed, and the number reused, since the scan).
bool shut_down(const ConnectedSocket& socket) {
  sockaddr_storage peer{};
  socklen_t size = sizeof peer;
  std::string address;
  int port = -1;
  if (getpeername(socket.fd, reinterpret_cast<sockaddr*>(&peer), &size) != 0 ||
      !address_of(peer, address, port) || address != socket.peer_ip || port != socket.peer_port)
    return false;
  return ::shutdown(socket.fd, SHUT_RDWR) == 0;
}

}  // namespace

bool close_connection_after_response(const httplib::Request& request) {
  const int fd = find_connection_socket(request);
  if (fd < 0) return false;
  linger(fd);
  const int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null_fd < 0) return shutdown(fd, SHUT_RDWR) == 0;
  // dup2 closes the socket and leaves httplib a descriptor that reads as end
  // of stream.
  const bool replaced = dup2(null_fd, fd) == fd;
  close(null_fd);
  return replaced;
}

bool ClientConnectionLimit::admit(const std::string& address) {
  std::lock_guard<std::mutex> lock(mutex_);
  size_t& count = open_[address];
  if (max_per_client_ > 0 && count >= max_per_client_) {
    if (count == 0) open_.erase(address);
    return false;
  }
  ++count;
  return true;
}

void ClientConnectionLimit::release(const std::string& address) {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = open_.find(address);
  if (it == open_.end()) return;
  if (--it->second == 0) open_.erase(it);
}

size_t ClientConnectionLimit::open(const std::string& address) const {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = open_.find(address);
  return it == open_.end() ? 0 : it->second;
}

SlowClientWatchdog::SlowClientWatchdog(Options options) : options_(options), thread_([this] { run(); }) {}

SlowClientWatchdog::~SlowClientWatchdog() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void SlowClientWatchdog::request_started(const std::string& address, int port) {
  std::lock_guard<std::mutex> lock(mutex_);
  Seen& seen = seen_[connection_key(address, port)];
  seen.in_request = true;
  seen.idle_since = std::chrono::steady_clock::now();  // when the request began, while in it
}

void SlowClientWatchdog::request_finished(const std::string& address, int port) {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = seen_.find(connection_key(address, port));
  if (it == seen_.end()) return;
  it->second.in_request = false;
  it->second.idle_since = std::chrono::steady_clock::now();
}

void SlowClientWatchdog::run() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!wake_.wait_for(lock, options_.interval, [this] { return stopping_; })) {
    lock.unlock();
    scan();
    lock.lock();
  }
}

void SlowClientWatchdog::scan() {
  using Clock = std::chrono::steady_clock;
  const Clock::time_point listed = Clock::now();
  const std::vector<ConnectedSocket> sockets = service_sockets(options_.port);
  const Clock::time_point now = Clock::now();
  std::vector<const ConnectedSocket*> drop;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    std::map<std::string, Seen> current;
    std::map<std::string, size_t> open, timed_out;  // by client address
    // Likewise by client address: its connections waiting for a first request, and since when.
    std::map<std::string, std::vector<std::pair<Clock::time_point, const ConnectedSocket*>>> idle;
    for (const ConnectedSocket& socket : sockets) {
      const std::string key = connection_key(socket.peer_ip, socket.peer_port);
      const auto it = seen_.find(key);
      const Seen seen = it != seen_.end() ? it->second : Seen{now, false};
      current[key] = seen;
      ++open[socket.peer_ip];
      if (seen.in_request) continue;
      if (now - seen.idle_since > options_.limit) {
        drop.push_back(&socket);
        ++timed_out[socket.peer_ip];
      } else if (now - seen.idle_since >= kCapGrace) {
        idle[socket.peer_ip].emplace_back(seen.idle_since, &socket);
      }
    }
    if (options_.max_per_client > 0)
      for (auto& [address, candidates] : idle) {
        const size_t staying = open[address] - timed_out[address];
        size_t excess = staying > options_.max_per_client ? staying - options_.max_per_client : 0;
        std::stable_sort(candidates.begin(), candidates.end(), [](const auto& a, const auto& b) {
          return a.first < b.first;
        });  // longest idle first
        for (size_t i = 0; i < candidates.size() && excess > 0; ++i, --excess)
          drop.push_back(candidates[i].second);
      }
    // A request that began after the listing is on a socket the listing may
    // not hold yet: keep its mark for the next scan.
    for (const auto& [key, seen] : seen_)
      if (seen.in_request && seen.idle_since >= listed && !current.count(key)) current[key] = seen;
    for (const ConnectedSocket* socket : drop)
      current.erase(connection_key(socket->peer_ip, socket->peer_port));
    seen_ = std::move(current);
  }
  for (const ConnectedSocket* socket : drop)
    if (shut_down(*socket)) ++dropped_;
}

}  // namespace pneumoscan
