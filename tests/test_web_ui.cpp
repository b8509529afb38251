// The web page in a real browser: starts `pneumoscan serve --port 0` and runs
// tests/web/ui_test.mjs (headless Chromium via playwright-core) against it.
// Skips when node, Chromium or tests/web/node_modules are missing (fails under CI).
#include <filesystem>

#include "serve_process.h"
#include "test_support.h"

namespace pneumoscan {
namespace {
namespace fs = std::filesystem;

#define SKIP_OR_FAIL_UNDER_CI(message)                             \
  do {                                                             \
    if (::pneumoscan::test::running_under_ci()) FAIL() << message; \
    GTEST_SKIP() << message;                                       \
  } while (0)

TEST(WebUiTest, UploadShowsDiagnosisAndOverlayInChromium) {
  PNEUMOSCAN_REQUIRE_SHARED(xray, "data/chest_xray/val/PNEUMONIA/person1951_bacteria_4882.jpeg");
  const fs::path web_tests = fs::path(PNEUMOSCAN_SOURCE_DIR) / "tests" / "web";
  const char* chromium_env = std::getenv("CHROMIUM_PATH");
  const std::string chromium = chromium_env != nullptr ? chromium_env : "/usr/bin/chromium";
  if (test::run_command("node --version").exit_code != 0) SKIP_OR_FAIL_UNDER_CI("node not installed");
  if (!fs::exists(chromium)) SKIP_OR_FAIL_UNDER_CI("Chromium not found at " + chromium);
  if (!fs::exists(web_tests / "node_modules" / "playwright-core"))
    SKIP_OR_FAIL_UNDER_CI(
        "tests/web/node_modules missing (run scripts/setup.sh --deps or npm ci in tests/web)");

  test::ServeProcess server({});
  ASSERT_GT(server.port(), 0) << "no 'listening on' line; output: " << server.output();
  const fs::path screenshot = fs::current_path() / "test-artifacts" / "web_ui.png";
  fs::remove(screenshot);
  const test::CommandResult result =
      test::run_command("node '" + (web_tests / "ui_test.mjs").string() + "' " + server.url() + " '" + xray +
                        "' '" + screenshot.string() + "'");
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_TRUE(fs::exists(screenshot)) << result.output;
  EXPECT_EQ(server.signal_and_wait(SIGTERM), 0);
}

}  // namespace
}  // namespace pneumoscan
