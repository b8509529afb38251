#pragma once
// Test helper: `pneumoscan serve --port 0 ...` (or another command that
// listens: `board`) as a child process, with the port read from its
// "listening on http://HOST:PORT" line.
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <regex>
#include <string>
#include <vector>

namespace pneumoscan::test {

class ServeProcess {
 public:
  explicit ServeProcess(std::vector<std::string> args, const std::string& command = "serve") {
    int fds[2];
    if (pipe(fds) != 0) return;
    args.insert(args.begin(), {PNEUMOSCAN_CLI_PATH, command, "--port", "0"});
    pid_ = fork();
    if (pid_ == 0) {
      dup2(fds[1], STDOUT_FILENO);
      close(fds[0]);
      close(fds[1]);
      std::vector<char*> argv;
      for (std::string& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    close(fds[1]);
    out_fd_ = fds[0];
    read_port();
  }
  ~ServeProcess() {
    if (pid_ > 0 && !reaped_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (out_fd_ >= 0) close(out_fd_);
  }
  ServeProcess(const ServeProcess&) = delete;
  ServeProcess& operator=(const ServeProcess&) = delete;

  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  const std::string& output() const { return output_; }
  pid_t pid() const { return pid_; }

  // Sends `signal` and waits (at most `limit`); the exit code, or -1 for a
  // death by signal or no exit in time.
  int signal_and_wait(int signal, std::chrono::seconds limit = std::chrono::seconds(30)) {
    kill(pid_, signal);
    const auto deadline = std::chrono::steady_clock::now() + limit;
    int status = 0;
    while (std::chrono::steady_clock::now() < deadline) {
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        reaped_ = true;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      usleep(20 * 1000);
    }
    return -1;
  }

 private:
  void read_port() {
    static const std::regex listening(R"(listening on http://[^\s:]+:(\d+))");
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    char buffer[512];
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{out_fd_, POLLIN, 0};
      if (poll(&p, 1, 200) <= 0) continue;
      const ssize_t n = read(out_fd_, buffer, sizeof buffer);
      if (n <= 0) return;  // exited before listening
      output_.append(buffer, static_cast<size_t>(n));
      std::smatch m;
      if (std::regex_search(output_, m, listening)) {
        port_ = std::stoi(m[1].str());
        return;
      }
    }
  }

  pid_t pid_ = -1;
  int out_fd_ = -1;
  int port_ = 0;
  bool reaped_ = false;
  std::string output_;
};

}  // namespace pneumoscan::test
