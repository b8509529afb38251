#pragma once
// Helpers shared by the test files: locating ../shared and temporary folders.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "core/runtime.h"

namespace pneumoscan::test {

inline bool running_under_ci() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && std::string(ci) == "true";
}

// Path inside the shared data folder, or "" when it is absent.
inline std::string shared_path(const std::string& relative) {
  const std::filesystem::path path = std::filesystem::path(shared_dir()) / relative;
  return std::filesystem::exists(path) ? path.string() : std::string();
}

// A fresh empty folder under the system temp dir, removed by the destructor.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    path = std::filesystem::temp_directory_path() /
           ("pneumoscan-test-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" +
            std::to_string(reinterpret_cast<uintptr_t>(this)));
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string operator/(const std::string& name) const { return (path / name).string(); }
};

// A TCP port nothing listens on right now (the kernel's pick for port 0), for
// servers that cannot be told to pick one themselves (DCMTK's SCP).
inline int free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  close(fd);
  return ntohs(address.sin_port);
}

// Runs a shell command line, capturing stdout and stderr together.
struct CommandResult {
  int exit_code = -1;
  std::string output;
};

inline CommandResult run_command(const std::string& command_line) {
  CommandResult result;
  FILE* pipe = popen((command_line + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return result;
  std::array<char, 4096> buffer;
  size_t n;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) result.output.append(buffer.data(), n);
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

// Runs the pneumoscan executable with `arguments` (shell syntax).
inline CommandResult run_cli(const std::string& arguments) {
  return run_command(std::string(PNEUMOSCAN_CLI_PATH) + " " + arguments);
}

// tests/web: the browser tests (playwright-core scripts) of the web pages.
inline std::filesystem::path browser_tests_dir() {
  return std::filesystem::path(PNEUMOSCAN_SOURCE_DIR) / "tests" / "web";
}

// What a browser test lacks (node, Chromium at $CHROMIUM_PATH or /usr/bin/chromium,
// tests/web/node_modules), or "" when it can run.
inline std::string browser_test_missing() {
  const char* chromium_env = std::getenv("CHROMIUM_PATH");
  const std::string chromium = chromium_env != nullptr ? chromium_env : "/usr/bin/chromium";
  if (run_command("node --version").exit_code != 0) return "node not installed";
  if (!std::filesystem::exists(chromium)) return "Chromium not found at " + chromium;
  if (!std::filesystem::exists(browser_tests_dir() / "node_modules" / "playwright-core"))
    return "tests/web/node_modules missing (run scripts/setup.sh --deps or npm ci in tests/web)";
  return "";
}

}  // namespace pneumoscan::test

// Resolves a path in ../shared into `var`; skips the test when it is absent,
// but fails under CI (CI=true), where ../shared is always present.
#define PNEUMOSCAN_REQUIRE_SHARED(var, relative)                                               \
  const std::string var = ::pneumoscan::test::shared_path(relative);                           \
  if (var.empty()) {                                                                           \
    if (::pneumoscan::test::running_under_ci()) FAIL() << "shared data missing: " << relative; \
    GTEST_SKIP() << "shared data not found (" << relative << "); set PNEUMOSCAN_SHARED";       \
  }

// Skips the test with `message`, but fails it under CI (CI=true), where every tool is installed.
#define SKIP_OR_FAIL_UNDER_CI(message)                             \
  do {                                                             \
    if (::pneumoscan::test::running_under_ci()) FAIL() << message; \
    GTEST_SKIP() << message;                                       \
  } while (0)
