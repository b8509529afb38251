// The training page (src/board): the run store over a log folder, its JSON
// API, and the page in headless Chromium while a short training run writes
// events (tests/web/board_test.mjs).
#include <httplib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <thread>

#include "board/board_server.h"
#include "board/run_store.h"
#include "monitor/event_writer.h"
#include "serve_process.h"
#include "test_support.h"
#include "tfevents_check.h"

namespace pneumoscan {
namespace {
namespace fs = std::filesystem;

const char kPngBytes[] = "\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x02\0\0\0\x03\x08\0\0\0\0";
const std::string kPng(kPngBytes, sizeof kPngBytes - 1);

// Two runs, one nested, as train/compare --logdir lay them out.
void write_runs(const fs::path& logdir) {
  EventWriter a((logdir / "alpha").string());
  EventWriter b((logdir / "study" / "beta").string());
  for (int epoch = 1; epoch <= 3; ++epoch) {
    a.add_scalar("epoch/val_loss", 1.0 / epoch, epoch);
    a.add_scalar("epoch/val_roc_auc", 0.5 + 0.1 * epoch, epoch);
    b.add_scalar("epoch/val_loss", 0.5 + (epoch - 2) * (epoch - 2), epoch);
  }
  a.add_image("gradcam/0", kPng, 3, 2, 1, 3);
  a.add_text("config", "    {\"architecture\": \"small-cnn\"}", 0);
  const std::vector<float> weights = {1, 2, 3};
  a.add_histogram("weights/fc", weights.data(), weights.size(), 3);
}

TEST(RunStore, ReadsEveryRunWithBestFiguresAndLatestImages) {
  test::TempDir dir;
  write_runs(dir.path);
  RunStore store(dir.path.string());
  const nlohmann::json runs = store.runs();
  ASSERT_EQ(runs.size(), 2u) << runs.dump();
  EXPECT_EQ(runs[0]["name"], "alpha");
  EXPECT_EQ(runs[1]["name"], "study/beta");
  const nlohmann::json& alpha = runs[0];
  EXPECT_FLOAT_EQ(alpha["scalars"]["epoch/val_loss"]["best"].get<double>(), 1.0f / 3);  // lower is better
  EXPECT_EQ(alpha["scalars"]["epoch/val_loss"]["best_step"], 3);
  EXPECT_NEAR(alpha["scalars"]["epoch/val_roc_auc"]["best"].get<double>(), 0.8, 1e-6);  // higher is better
  EXPECT_EQ(runs[1]["scalars"]["epoch/val_loss"]["best_step"], 2);
  EXPECT_EQ(alpha["images"]["gradcam/0"]["step"], 3);
  EXPECT_EQ(alpha["images"]["gradcam/0"]["width"], 2);
  EXPECT_EQ(alpha["texts"]["config"]["text"], "    {\"architecture\": \"small-cnn\"}");
  EXPECT_EQ(alpha["histograms"]["weights/fc"]["num"], 3.0);
  EXPECT_TRUE(alpha["errors"].empty());
  const auto image = store.latest_image("alpha", "gradcam/0");
  ASSERT_TRUE(image.has_value());
  EXPECT_EQ(image->png, kPng);
  EXPECT_FALSE(store.latest_image("alpha", "nope").has_value());
  EXPECT_FALSE(store.latest_image("../alpha", "gradcam/0").has_value());
}

TEST(RunStore, ScalarsSinceACursorAreOnlyTheNewPoints) {
  test::TempDir dir;
  RunStore store(dir.path.string());
  store.set_min_interval(std::chrono::milliseconds(0));
  EXPECT_TRUE(store.runs().empty());  // an empty (or not yet created) log folder is no error
  EventWriter writer((dir.path / "run").string());
  writer.add_scalar("step/train_loss", 0.9, 10);
  writer.flush();
  nlohmann::json first = store.scalars_since(0);
  ASSERT_EQ(first["series"]["run"]["step/train_loss"].size(), 1u) << first.dump();
  const uint64_t cursor = first["cursor"];
  EXPECT_TRUE(store.scalars_since(cursor)["series"].empty());
  writer.add_scalar("step/train_loss", 0.7, 20);
  writer.add_scalar("step/train_loss", 0.5, 30);
  writer.flush();
  const nlohmann::json next = store.scalars_since(cursor);
  const nlohmann::json& points = next["series"]["run"]["step/train_loss"];
  ASSERT_EQ(points.size(), 2u) << next.dump();
  EXPECT_EQ(points[0][0], 20);
  EXPECT_NEAR(points[1][1].get<double>(), 0.5, 1e-7);
  EXPECT_EQ(store.scalars_since(0)["series"]["run"]["step/train_loss"].size(), 3u);
}

TEST(RunStore, CorruptFileIsReportedAndOtherRunsStillShow) {
  test::TempDir dir;
  write_runs(dir.path);
  fs::create_directories(dir.path / "broken");
  std::ofstream(dir / "broken/events.out.tfevents.1.x", std::ios::binary) << std::string(40, '\x07');
  RunStore store(dir.path.string(), /*max_points=*/4);
  const nlohmann::json runs = store.runs();
  ASSERT_EQ(runs.size(), 3u);
  EXPECT_EQ(runs[1]["name"], "broken");
  ASSERT_EQ(runs[1]["errors"].size(), 1u);
  EXPECT_NE(runs[1]["errors"][0].get<std::string>().find("checksum mismatch at byte 0"), std::string::npos);
  EXPECT_EQ(store.scalars_since(0)["dropped"], 5);  // 9 points written, 4 kept
}

TEST(BoardServer, ServesThePageAndTheApi) {
  test::TempDir dir;
  write_runs(dir.path);
  BoardConfig config;
  config.logdir = dir.path.string();
  config.port = 0;
  BoardServer board(config);
  const int port = board.bind();
  std::thread server([&] { board.run(); });
  httplib::Client client("127.0.0.1", port);
  const auto page = client.Get("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_NE(page->body.find("PneumoScan training board"), std::string::npos);
  EXPECT_EQ(client.Get("/board.js")->status, 200);
  const auto runs = client.Get("/api/runs");
  ASSERT_TRUE(runs);
  EXPECT_EQ(nlohmann::json::parse(runs->body).size(), 2u);
  const auto scalars = client.Get("/api/scalars?since=0");
  EXPECT_EQ(nlohmann::json::parse(scalars->body)["series"]["alpha"]["epoch/val_loss"].size(), 3u);
  const auto bad = client.Get("/api/scalars?since=-1");
  EXPECT_EQ(bad->status, 400);
  EXPECT_NE(nlohmann::json::parse(bad->body)["error"].get<std::string>().find("since"), std::string::npos);
  const auto image = client.Get("/api/image?run=alpha&tag=gradcam%2F0");
  ASSERT_TRUE(image);
  EXPECT_EQ(image->status, 200);
  EXPECT_EQ(image->get_header_value("Content-Type"), "image/png");
  EXPECT_EQ(image->body, kPng);
  const auto missing = client.Get("/api/image?run=alpha&tag=none");
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(client.Get("/../../etc/passwd")->status, 404);
  board.stop();
  server.join();
}

// Gray X-ray-like images: NORMAL dark lungs, PNEUMONIA with bright patches.
void write_synthetic_xrays(const fs::path& root, const std::string& split, int per_class, int seed) {
  cv::RNG rng(static_cast<uint64_t>(seed));
  for (const char* label : {"NORMAL", "PNEUMONIA"}) {
    const fs::path folder = root / split / label;
    fs::create_directories(folder);
    for (int i = 0; i < per_class; ++i) {
      cv::Mat image(96, 96, CV_8UC1, cv::Scalar(150));
      cv::ellipse(image, {30, 50}, {16, 30}, 0, 0, 360, cv::Scalar(50), cv::FILLED);
      cv::ellipse(image, {66, 50}, {16, 30}, 0, 0, 360, cv::Scalar(50), cv::FILLED);
      if (std::string(label) == "PNEUMONIA")
        cv::circle(image, {rng.uniform(22, 74), rng.uniform(35, 70)}, rng.uniform(8, 14), cv::Scalar(200),
                   cv::FILLED);
      cv::Mat noise(image.size(), CV_8UC1);
      rng.fill(noise, cv::RNG::UNIFORM, 0, 30);
      image += noise;
      const std::string name = std::string(label == std::string("NORMAL") ? "IM-" : "person") +
                               std::to_string(1000 * seed + i) +  // patients differ between splits
                               (label == std::string("NORMAL") ? "-0001.png" : "_virus_1.png");
      ASSERT_TRUE(cv::imwrite((folder / name).string(), image));
    }
  }
}

TEST(BoardPage, ChartGainsPointsWhileARunTrainsInChromium) {
  if (const std::string missing = test::browser_test_missing(); !missing.empty())
    SKIP_OR_FAIL_UNDER_CI(missing);
  test::TempDir dir;
  write_synthetic_xrays(dir.path / "data", "train", 24, 1);
  write_synthetic_xrays(dir.path / "data", "val", 8, 2);
  const std::string logdir = dir / "logs";  // created by the first run, while the page is open
  test::ServeProcess board({"--logdir", logdir}, "board");
  ASSERT_GT(board.port(), 0) << "no 'listening on' line; output: " << board.output();

  // Two epochs, then the same run resumed to four: the page must show both without a reload.
  const nlohmann::json train = {PNEUMOSCAN_CLI_PATH,
                                "--threads",
                                "2",
                                "train",
                                "--data",
                                dir / "data/train",
                                "--val",
                                dir / "data/val",
                                "--out",
                                dir / "model.psmodel",
                                "--arch",
                                "small-cnn",
                                "--image-size",
                                "64",
                                "--batch-size",
                                "8",
                                "--no-progress",
                                "--logdir",
                                logdir,
                                "--epochs"};
  nlohmann::json first = train, second = train;
  first.push_back("2");
  second.push_back("4");
  second.push_back("--resume");
  const fs::path screenshot = fs::current_path() / "test-artifacts" / "board.png";
  fs::remove(screenshot);
  const test::CommandResult result = test::run_command(
      "node '" + (test::browser_tests_dir() / "board_test.mjs").string() + "' " + board.url() + " '" +
      screenshot.string() + "' '" + nlohmann::json::array({first, second}).dump() + "'");
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_TRUE(fs::exists(screenshot)) << result.output;
  EXPECT_EQ(board.signal_and_wait(SIGTERM), 0);

  // Every file the runs wrote passes the independent reader; together they hold
  // each epoch once, the Grad-CAM overlays, histograms, the config and the final curves.
  std::map<std::string, std::vector<int64_t>> steps;
  size_t files = 0;
  for (const auto& entry : fs::directory_iterator(fs::path(logdir) / "model")) {
    if (entry.path().filename().string().find("tfevents") == std::string::npos) continue;
    ++files;
    for (const auto& event : test::read_events_independently(entry.path().string()))
      for (const auto& value : event.values) steps[value.tag].push_back(event.step);
  }
  EXPECT_EQ(files, 2u);
  std::vector<int64_t>& epochs = steps["epoch/val_loss"];
  std::sort(epochs.begin(), epochs.end());  // the two files come in any order
  EXPECT_EQ(epochs, (std::vector<int64_t>{1, 2, 3, 4}));
  EXPECT_EQ(steps["epoch/val_pr_auc"].size(), 4u);
  EXPECT_EQ(steps["gradcam/0_pneumonia_person2000_virus_1"].size(), 4u);
  EXPECT_EQ(steps["curves/roc"].size(), 2u);  // at the end of each of the two runs
  EXPECT_GE(steps["config"].size(), 2u);
  EXPECT_EQ(steps["weights/features.0.weight"].size() + steps["gradients/features.0.weight"].size(), 8u)
      << "no histograms of the first convolution (parameter names changed?)";
}

}  // namespace
}  // namespace pneumoscan
