#include "serve/shutdown_signal.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>

#include "core/errors.h"

namespace pneumoscan {
namespace {

// Self-pipe: the handler writes one byte, the watcher thread reads it.
int pipe_fds[2] = {-1, -1};
constexpr char kSignalled = 1;
constexpr char kQuit = 0;

extern "C" void on_shutdown_signal(int) {
  const int saved_errno = errno;
  const char byte = kSignalled;
  [[maybe_unused]] const ssize_t n = write(pipe_fds[1], &byte, 1);
  errno = saved_errno;
}

void set_handlers(void (*handler)(int)) {
  struct sigaction action;
  std::memset(&action, 0, sizeof action);
  action.sa_handler = handler;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

}  // namespace

ShutdownOnSignal::ShutdownOnSignal(std::function<void()> on_signal) {
  if (pipe_fds[0] != -1) throw UsageError("only one ShutdownOnSignal may exist at a time");
  if (pipe(pipe_fds) != 0) throw IoError("signal pipe", std::strerror(errno));
  fcntl(pipe_fds[0], F_SETFD, FD_CLOEXEC);
  fcntl(pipe_fds[1], F_SETFD, FD_CLOEXEC);
  set_handlers(on_shutdown_signal);
  watcher_ = std::thread([on_signal = std::move(on_signal)] {
    char byte = kQuit;
    while (read(pipe_fds[0], &byte, 1) < 0 && errno == EINTR) {
    }
    if (byte != kSignalled) return;
    set_handlers(SIG_DFL);  // a second Ctrl-C stops a stuck shutdown
    on_signal();
  });
}

ShutdownOnSignal::~ShutdownOnSignal() {
  set_handlers(SIG_DFL);
  const char byte = kQuit;
  [[maybe_unused]] const ssize_t n = write(pipe_fds[1], &byte, 1);
  watcher_.join();
  close(pipe_fds[0]);
  close(pipe_fds[1]);
  pipe_fds[0] = pipe_fds[1] = -1;
}

}  // namespace pneumoscan
