// The web page in a real browser: starts `pneumoscan serve --port 0` and runs
// tests/web/ui_test.mjs (headless Chromium via playwright-core) against it.
// Skips when node, Chromium or tests/web/node_modules are missing (fails under CI).
#include <filesystem>

#include "serve_process.h"
#include "test_support.h"

namespace pneumoscan {
namespace {
namespace fs = std::filesystem;

TEST(WebUiTest, UploadShowsDiagnosisAndOverlayInChromium) {
  PNEUMOSCAN_REQUIRE_SHARED(xray, "data/chest_xray/val/PNEUMONIA/person1951_bacteria_4882.jpeg");
  const fs::path web_tests = test::browser_tests_dir();
  if (const std::string missing = test::browser_test_missing(); !missing.empty())
    SKIP_OR_FAIL_UNDER_CI(missing);

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
