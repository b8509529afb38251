// End-to-end tests of the pneumoscan front end: predict's per-file errors and
// exit code, evaluate's JSON, one-line errors for bad model files, and
// progress lines that only a terminal sees.
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/atomic_file.h"
#include "data/train_val.h"
#include "model_file/model_file.h"
#include "test_support.h"
#include "training_support.h"

using namespace pneumoscan;

namespace {
using test::CommandResult;
using test::run_cli;

// A tiny model trained in a second or two: enough to exercise the front end.
std::string tiny_model(const test::TempDir& dir, const std::string& data) {
  const TrainValSplit split = test::small_real_split(data, 64, 32, 1);
  const TrainConfig config = test::quick_config(64, 1, 32, TrainConfig{}.seed);
  const std::string path = dir / "tiny.psmodel";
  train_model(split.train, split.val, config, path);
  return path;
}
}  // namespace

TEST(Cli, HelpListsEveryCommand) {
  const CommandResult help = run_cli("--help");
  EXPECT_EQ(help.exit_code, 0);
  for (const char* command : {"predict", "explain", "evaluate", "train", "split", "qc", "eda", "models",
                              "bench", "info", "export", "index", "similar", "gate"})
    EXPECT_NE(help.output.find(command), std::string::npos) << command;
}

TEST(Cli, PredictReportsBadFilesAndGoesOn) {
  PNEUMOSCAN_REQUIRE_SHARED(root, "data/chest_xray");
  PNEUMOSCAN_REQUIRE_SHARED(xray, "data/chest_xray_fullres/PNEUMONIA/person1003_virus_1685.jpeg");
  test::TempDir dir;
  const std::string model = tiny_model(dir, root);
  const std::string bad = dir / "corrupt.png";
  std::ofstream(bad) << "\x89PNG\r\n garbage";
  const CommandResult result = run_cli("predict --model " + model + " " + bad + " " + xray);
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_NE(result.output.find("error: " + bad + ":"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("person1003_virus_1685.jpeg\t"), std::string::npos) << result.output;

  const CommandResult json = run_cli("predict --json --model " + model + " " + xray + " 2>/dev/null");
  EXPECT_EQ(json.exit_code, 0) << json.output;
  const auto parsed = nlohmann::json::parse(json.output);
  const auto& p = parsed.at("predictions").at(0);
  EXPECT_GE(p.at("probability").get<double>(), 0.0);
  EXPECT_LE(p.at("probability").get<double>(), 1.0);
  EXPECT_TRUE(p.at("label") == "NORMAL" || p.at("label") == "PNEUMONIA");
  EXPECT_TRUE(p.contains("threshold"));
}

TEST(Cli, EvaluateWritesExactlyTheAgreedJsonKeys) {
  PNEUMOSCAN_REQUIRE_SHARED(root, "data/chest_xray");
  test::TempDir dir;
  const std::string model = tiny_model(dir, root);
  const std::string out = dir / "metrics.json";
  const CommandResult result =
      run_cli("evaluate --model " + model + " --data " + root + " --split val --json " + out);
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const auto metrics = nlohmann::json::parse(read_file(out));
  std::set<std::string> keys;
  for (const auto& item : metrics.items()) keys.insert(item.key());
  EXPECT_EQ(keys, (std::set<std::string>{"n", "accuracy", "precision", "recall", "specificity", "f1",
                                         "roc_auc", "pr_auc", "threshold", "tp", "fp", "tn", "fn"}));
  EXPECT_EQ(metrics.at("n"), 16);  // the official 16-image val split
  EXPECT_EQ(metrics.at("tp").get<int>() + metrics.at("fp").get<int>() + metrics.at("tn").get<int>() +
                metrics.at("fn").get<int>(),
            16);
}

TEST(Cli, BadModelFileIsOneLineError) {
  test::TempDir dir;
  const std::string fake = dir / "fake.psmodel";
  write_file_atomically(fake, "definitely not a model");
  const CommandResult result = run_cli("predict --model " + fake + " x.png");
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(result.output, "error: " + fake + ": not a PneumoScan model file (unreadable archive)\n");
}

// qc and eda draw a progress line on a terminal (a pseudo-terminal from
// script(1) here) and nothing into a pipe or a file.
TEST(Cli, ProgressLinesOnlyOnATerminal) {
  if (test::run_command("script --version").exit_code != 0)
    GTEST_SKIP() << "script(1) (util-linux) not installed";
  test::TempDir dir;
  cv::RNG rng(7);
  for (const std::string label : {"NORMAL", "PNEUMONIA"}) {
    const std::filesystem::path folder = dir.path / "train" / label;
    std::filesystem::create_directories(folder);
    for (int i = 0; i < 3; ++i) {
      cv::Mat image(64, 64, CV_8UC1);
      rng.fill(image, cv::RNG::UNIFORM, 0, 255);
      ASSERT_TRUE(
          cv::imwrite((folder / ("person" + std::to_string(i) + "_" + label + ".png")).string(), image));
    }
  }
  for (const std::string command : {"qc", "eda"}) {
    const std::string args = command + " " + dir.path.string();
    const CommandResult piped = run_cli(args);
    ASSERT_EQ(piped.exit_code, 0) << piped.output;
    EXPECT_EQ(piped.output.find('\r'), std::string::npos) << command << " drew a progress line into a pipe";
    const CommandResult terminal =
        test::run_command("script -qec \"" + std::string(PNEUMOSCAN_CLI_PATH) + " " + args + "\" /dev/null");
    ASSERT_EQ(terminal.exit_code, 0) << terminal.output;
    EXPECT_NE(terminal.output.find(command + " ["), std::string::npos) << "no progress line on a terminal:\n"
                                                                       << terminal.output;
  }
}

TEST(Cli, PredictJsonKeepsEveryResultWhateverTheFileNames) {
  // An untrained model is enough: the test is about names, refusals and JSON.
  test::TempDir dir;
  const std::string model = dir / "random.psmodel";
  {
    ModelMetadata metadata;
    metadata.spec = {"small-cnn", 64, 1, 1};
    metadata.preprocess.input_size = 64;
    Classifier net = create_model(metadata.spec);
    save_model(model, metadata, *net);
  }
  // Smooth texture with a bright central strip: passes the input gate's pixel checks as a chest X-ray would.
  cv::Mat noise(128, 128, CV_8UC1);
  cv::randu(noise, 0, 256);
  cv::GaussianBlur(noise, noise, cv::Size(0, 0), 4);
  cv::normalize(noise, noise, 20, 160, cv::NORM_MINMAX);
  cv::rectangle(noise, cv::Rect(54, 0, 20, 128), cv::Scalar(230), cv::FILLED);
  const std::string good = dir / "good.png";
  const std::string latin1 = dir / "caf\xe9.png";  // not valid UTF-8
  ASSERT_TRUE(cv::imwrite(good, noise));
  ASSERT_TRUE(cv::imwrite(latin1, noise));
  const std::string tiny = dir / "tiny.png";
  ASSERT_TRUE(cv::imwrite(tiny, cv::Mat(1, 1, CV_8UC1, cv::Scalar(120))));
  const std::string blank = dir / "black.png";
  ASSERT_TRUE(cv::imwrite(blank, cv::Mat(300, 300, CV_8UC1, cv::Scalar(0))));
  const CommandResult result = run_cli("predict --json --model " + model + " '" + good + "' '" + latin1 +
                                       "' '" + tiny + "' '" + blank + "' 2>/dev/null");
  // The input check refused two files (exit code 3); none failed outright.
  EXPECT_EQ(result.exit_code, 3) << result.output;
  const auto parsed = nlohmann::json::parse(result.output);  // valid JSON despite the name
  const auto& predictions = parsed.at("predictions");
  ASSERT_EQ(predictions.size(), 4u) << result.output;
  EXPECT_TRUE(predictions[0].contains("probability"));
  EXPECT_TRUE(predictions[1].contains("probability"));
  EXPECT_EQ(predictions[0].at("probability"), predictions[1].at("probability"));
  EXPECT_NE(predictions[1].at("file").get<std::string>().find("caf\xef\xbf\xbd.png"), std::string::npos);
  EXPECT_NE(predictions[2].at("refused").get<std::string>().find("too small to diagnose"), std::string::npos);
  EXPECT_EQ(predictions[2].at("gate").at("reasons").at(0).at("code"), "too_small");
  EXPECT_FALSE(predictions[2].contains("probability"));
  EXPECT_NE(predictions[3].at("refused").get<std::string>().find("blank"), std::string::npos);
  EXPECT_FALSE(predictions[3].contains("probability"));

  // In text, one line per file: the refused ones say REFUSED and why.
  const CommandResult text =
      run_cli("predict --model " + model + " '" + good + "' '" + tiny + "' 2>/dev/null");
  EXPECT_EQ(text.exit_code, 3) << text.output;
  EXPECT_NE(text.output.find(tiny + "\tREFUSED\tthe image is 1x1 pixels"), std::string::npos) << text.output;
  // A failure (unreadable file) outranks a refusal in the exit code.
  const std::string corrupt = dir / "corrupt.png";
  std::ofstream(corrupt) << "\x89PNG\r\n garbage";
  EXPECT_EQ(run_cli("predict --model " + model + " '" + tiny + "' '" + corrupt + "'").exit_code, 2);
}

// train's --class-weight-scale: a malformed value and an unknown class each end in one line,
// before any data is read (the data folder here does not exist).
TEST(Cli, ClassWeightScaleErrorsAreOneLine) {
  test::TempDir dir;
  const std::string base = "train --data " + (dir / "no-such-folder") + " --out " + (dir / "m.psmodel") +
                           " --classes normal,bacterial,viral ";
  const CommandResult malformed = run_cli(base + "--class-weight-scale VIRAL=2x");
  EXPECT_EQ(malformed.exit_code, 1);
  EXPECT_EQ(malformed.output,
            "error: --class-weight-scale takes CLASS=FACTOR (e.g. VIRAL=1.5), not 'VIRAL=2x'\n");
  const CommandResult unknown = run_cli(base + "--class-weight-scale FUNGAL=2");
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_EQ(
      unknown.output,
      "error: class weight scale for 'FUNGAL', which is not one of the classes (NORMAL, BACTERIAL, VIRAL)\n");
}
