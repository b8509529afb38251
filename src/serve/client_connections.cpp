#include "serve/client_connections.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>

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

bool socket_matches(int fd, const httplib::Request& request) {
  struct stat status {};
  if (fstat(fd, &status) != 0 || !S_ISSOCK(status.st_mode)) return false;
  sockaddr_storage peer{}, local{};
  socklen_t peer_size = sizeof peer, local_size = sizeof local;
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_size) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_size) != 0)
    return false;
  std::string peer_ip, local_ip;
  int peer_port = -1, local_port = -1;
  return address_of(peer, peer_ip, peer_port) && address_of(local, local_ip, local_port) &&
         peer_port == request.remote_port && local_port == request.local_port &&
         peer_ip == request.remote_addr && local_ip == request.local_addr;
}

// The descriptor of the connection `request` came on: the one socket of this
// process with its four addresses (a scan of /proc/self/fd, done only for
// connections being closed).
int find_connection_socket(const httplib::Request& request) {
  DIR* fds = opendir("/proc/self/fd");
  if (!fds) return -1;
  int found = -1;
  while (dirent* entry = readdir(fds)) {
    char* end = nullptr;
    const long fd = std::strtol(entry->d_name, &end, 10);
    if (end == entry->d_name || *end != '\0' || fd == dirfd(fds)) continue;
    if (socket_matches(static_cast<int>(fd), request)) {
      found = static_cast<int>(fd);
      break;
    }
  }
  closedir(fds);
  return found;
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

}  // namespace pneumoscan
