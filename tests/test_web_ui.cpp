// The web page in a real browser: starts `pneumoscan serve --port 0` and runs
// tests/web/ui_test.mjs (headless Chromium via playwright-core) against it.
// Skips when node, Chromium or tests/web/node_modules are missing (fails under CI).
#include <filesystem>
#include <thread>

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

TEST(WebUiTest, WorklistShowsStudiesAsTheyArriveInChromium) {
  PNEUMOSCAN_REQUIRE_SHARED(rsna, "data/dicom/rsna/0004cfab-14fd-4e49-80ba-63a80b6bddd6.dcm");
  PNEUMOSCAN_REQUIRE_SHARED(jpeg, "data/chest_xray/val/NORMAL/NORMAL2-IM-1427-0001.jpeg");
  const fs::path web_tests = test::browser_tests_dir();
  if (const std::string missing = test::browser_test_missing(); !missing.empty())
    SKIP_OR_FAIL_UNDER_CI(missing);
  test::TempDir dir;
  const std::string child = dir / "child.dcm";
  const auto made = test::run_command("img2dcm '" + jpeg + "' '" + child +
                                      "' -k Modality=CR -k PatientAge=004Y -k ViewPosition=PA"
                                      " -k PatientName=SECRET^KID -k PatientID=SECRETID9");
  ASSERT_EQ(made.exit_code, 0) << made.output;
  const int dicom_port = test::free_port();
  test::ServeProcess server({"--dicom-port", std::to_string(dicom_port), "--dicom-out", dir / "triage"});
  ASSERT_GT(server.port(), 0) << server.output();
  const fs::path screenshot = fs::current_path() / "test-artifacts" / "worklist.png";
  fs::remove(screenshot);
  // The browser waits on the open page while the studies arrive.
  test::CommandResult browser;
  std::thread page([&] {
    browser = test::run_command("node '" + (web_tests / "worklist_test.mjs").string() + "' " + server.url() +
                                " 2 '" + screenshot.string() + "'");
  });
  std::this_thread::sleep_for(std::chrono::seconds(4));
  const auto sent = test::run_command("storescu -xy -nh -aec PNEUMOSCAN localhost " +
                                      std::to_string(dicom_port) + " '" + rsna + "' '" + child + "'");
  page.join();
  EXPECT_EQ(sent.exit_code, 0) << sent.output;
  EXPECT_EQ(browser.exit_code, 0) << browser.output;
  EXPECT_TRUE(fs::exists(screenshot)) << browser.output;
  EXPECT_EQ(server.signal_and_wait(SIGTERM), 0);
}

}  // namespace
}  // namespace pneumoscan
