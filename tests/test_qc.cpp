// Tests of src/data/qc.cpp and the `pneumoscan qc` command.
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <unordered_map>

#include "core/atomic_file.h"
#include "core/errors.h"
#include "core/hash.h"
#include "data/qc.h"
#include "image/image.h"
#include "image/quality.h"
#include "test_support.h"

using namespace pneumoscan;
namespace fs = std::filesystem;

namespace {

const QcIssue* find_issue(const std::vector<QcIssue>& issues, const std::string& path) {
  for (const auto& issue : issues)
    if (issue.path == path) return &issue;
  return nullptr;
}

std::vector<std::string> sorted_files(const std::string& dir) {
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(dir)) files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  return files;
}

// Runs the CLI; returns the exit code, stdout+stderr in `output`.
int run_cli(const std::string& args, std::string& output) {
  const test::CommandResult result = test::run_cli(args);
  output = result.output;
  return result.exit_code;
}

// A small data set in the standard layout built from real X-rays:
//   train/NORMAL: a.jpeg, b.jpeg, blank.png, small.png
//   train/PNEUMONIA: p.jpeg, a_blurred.png, b_reencoded.png, corrupt.jpeg
//   val/PNEUMONIA: p_val.jpeg (same patient as p.jpeg: a cross-split patient)
struct Fixture {
  test::TempDir dir;
  std::vector<Sample> samples;
  std::string a, b, blank, small, p, blurred, reencoded, corrupt, p_val;

  explicit Fixture(const std::string& shared_train) {
    const auto normals = sorted_files(shared_train + "/NORMAL");
    const auto pneumonias = sorted_files(shared_train + "/PNEUMONIA");
    fs::create_directories(dir / "train/NORMAL");
    fs::create_directories(dir / "train/PNEUMONIA");
    fs::create_directories(dir / "val/PNEUMONIA");
    a = dir / "train/NORMAL/IM-0001-0001.jpeg";
    b = dir / "train/NORMAL/IM-0002-0001.jpeg";
    blank = dir / "train/NORMAL/IM-0003-0001.png";
    small = dir / "train/NORMAL/IM-0004-0001.png";
    p = dir / "train/PNEUMONIA/person1_bacteria_1.jpeg";
    blurred = dir / "train/PNEUMONIA/person2_bacteria_2.png";
    reencoded = dir / "train/PNEUMONIA/person3_virus_3.png";
    corrupt = dir / "train/PNEUMONIA/person4_virus_4.jpeg";
    p_val = dir / "val/PNEUMONIA/person1_bacteria_5.jpeg";
    fs::copy_file(normals[0], a);
    fs::copy_file(normals[1], b);
    fs::copy_file(pneumonias[0], p);
    fs::copy_file(pneumonias[1], p_val);

    const cv::Mat a_pixels = to_u8(decode_image(a));
    cv::Mat blurred_pixels;
    cv::GaussianBlur(a_pixels, blurred_pixels, cv::Size(0, 0), 3.0 * a_pixels.cols / kQualityWorkingWidth);
    cv::imwrite(blurred, blurred_pixels);
    cv::imwrite(reencoded, to_u8(decode_image(b)));  // same pixels, different bytes and format
    cv::Mat flat(224, 224, CV_8UC1, cv::Scalar(128));
    cv::RNG rng(1);
    cv::Mat noise(224, 224, CV_8UC1);
    rng.fill(noise, cv::RNG::UNIFORM, 0, 2);
    cv::imwrite(blank, flat + noise);
    cv::Mat tiny(40, 50, CV_8UC1);
    rng.fill(tiny, cv::RNG::UNIFORM, 0, 256);
    cv::imwrite(small, tiny);
    const std::string jpeg = read_file(normals[2]);
    std::ofstream(corrupt, std::ios::binary) << jpeg.substr(0, jpeg.size() / 2);

    samples = {{a, kNormal, "IM-0001", "train"},
               {b, kNormal, "IM-0002", "train"},
               {blank, kNormal, "IM-0003", "train"},
               {small, kNormal, "IM-0004", "train"},
               {p, kPneumonia, "person1", "train"},
               {blurred, kPneumonia, "person2", "train"},
               {reencoded, kPneumonia, "person3", "train"},
               {corrupt, kPneumonia, "person4", "train"},
               {p_val, kPneumonia, "person1", "val"}};
  }
};

}  // namespace

TEST(Qc, FlagsEachProblemOnRealImages) {
  PNEUMOSCAN_REQUIRE_SHARED(train, "data/chest_xray/train");
  Fixture f(train);
  const QcReport report = run_qc(f.samples, {});
  EXPECT_EQ(report.total, 9u);
  EXPECT_EQ(report.readable, 8u);

  ASSERT_EQ(report.unreadable.size(), 1u);
  EXPECT_EQ(report.unreadable[0].path, f.corrupt);
  EXPECT_NE(report.unreadable[0].detail.find("cannot decode JPEG"), std::string::npos)
      << report.unreadable[0].detail;

  ASSERT_EQ(report.blank.size(), 1u);
  EXPECT_EQ(report.blank[0].path, f.blank);
  ASSERT_EQ(report.too_small.size(), 1u);
  EXPECT_EQ(report.too_small[0].path, f.small);
  EXPECT_EQ(report.too_small[0].detail, "50x40");

  ASSERT_EQ(report.blurry.size(), 1u);
  EXPECT_EQ(report.blurry[0].path, f.blurred);
  EXPECT_EQ(find_issue(report.blurry, f.a), nullptr);  // the sharp original is not flagged

  ASSERT_EQ(report.duplicates.size(), 1u);
  EXPECT_EQ(report.duplicates[0].paths, (std::vector<std::string>{f.b, f.reencoded}));
  EXPECT_TRUE(report.duplicates[0].conflicting_labels());  // NORMAL vs PNEUMONIA in this fixture
  EXPECT_FALSE(report.duplicates[0].across_splits());
  EXPECT_EQ(report.duplicate_files, 1u);

  ASSERT_EQ(report.cross_split_patients.size(), 1u);
  EXPECT_EQ(report.cross_split_patients[0].patient, "person1");
  EXPECT_EQ(report.cross_split_patients[0].splits, (std::vector<std::string>{"train", "val"}));
  EXPECT_EQ(report.cross_split_patients[0].paths.size(), 2u);

  std::vector<std::string> expected = {f.blank, f.small, f.reencoded, f.corrupt};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(qc_exclusions(report), expected);
  expected.push_back(f.blurred);
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(qc_exclusions(report, true), expected);

  // Thresholds are options: a lower blur threshold flags nothing, a larger min size flags all.
  QcOptions options;
  options.blur_threshold = 0.5;
  options.min_side = 100000;
  options.threads = 1;
  const QcReport strict = run_qc(f.samples, options);
  EXPECT_TRUE(strict.blurry.empty());
  EXPECT_EQ(strict.too_small.size(), 8u);
}

TEST(Qc, JsonRoundTripOfExclusions) {
  PNEUMOSCAN_REQUIRE_SHARED(train, "data/chest_xray/train");
  Fixture f(train);
  QcOptions options;
  options.exclude_blurry = true;
  const QcReport report = run_qc(f.samples, options);
  const nlohmann::json j = to_json(report);
  EXPECT_EQ(j["counts"]["unreadable"], 1);
  EXPECT_EQ(j["counts"]["duplicate_files"], 1);
  EXPECT_EQ(j["counts"]["cross_split_patients"], 1);
  EXPECT_EQ(j["thresholds"]["blur_laplacian_variance"], kDefaultBlurThreshold);
  EXPECT_EQ(j["duplicates"][0]["labels"], (nlohmann::json{"NORMAL", "PNEUMONIA"}));
  const std::string path = f.dir / "qc.json";
  write_file_atomically(path, j.dump(2));
  EXPECT_EQ(read_qc_exclusions(path), qc_exclusions(report, true));
  EXPECT_EQ(read_qc_exclusions(path).size(), 5u);
  EXPECT_NE(format_summary(report).find("cross-split patients"), std::string::npos);
}

TEST(Qc, MalformedQcJsonNamesTheFile) {
  test::TempDir dir;
  auto expect_error = [&](const std::string& name, const std::string& content, const std::string& problem) {
    const std::string path = dir / name;
    if (!content.empty()) write_file_atomically(path, content);
    try {
      read_qc_exclusions(path);
      ADD_FAILURE() << "no exception for " << name;
    } catch (const InputError& e) {
      const std::string message = e.what();
      EXPECT_EQ(message.rfind(path + ": ", 0), 0u) << message;
      EXPECT_NE(message.find(problem), std::string::npos) << message;
    }
  };
  expect_error("missing.json", "", "cannot read QC report");
  expect_error("broken.json", "{\"exclude\": [", "not valid JSON");
  expect_error("no_list.json", "{\"counts\": {}}", "no \"exclude\" array");
  expect_error("numbers.json", "{\"exclude\": [1, 2]}", "non-string");
  write_file_atomically(dir / "empty_list.json", "{\"exclude\": []}");
  EXPECT_TRUE(read_qc_exclusions(dir / "empty_list.json").empty());
}

TEST(Qc, CommandLineWritesJson) {
  PNEUMOSCAN_REQUIRE_SHARED(train, "data/chest_xray/train");
  Fixture f(train);
  std::string output;
  const std::string json = f.dir / "report.json";
  ASSERT_EQ(run_cli("qc " + f.dir.path.string() + " --json " + json + " --exclude-blurry", output), 0)
      << output;
  EXPECT_NE(output.find("blurry"), std::string::npos) << output;
  const nlohmann::json j = nlohmann::json::parse(read_file(json));
  EXPECT_EQ(j["counts"]["total"], 9);
  EXPECT_EQ(j["thresholds"]["exclude_blurry"], true);
  EXPECT_EQ(j["exclude"].size(), 5u);

  ASSERT_EQ(run_cli("qc " + f.dir.path.string() + " --blur-threshold 0 --min-size 1000", output), 0)
      << output;
  EXPECT_NE(output.find("too small                     8"), std::string::npos) << output;

  EXPECT_EQ(run_cli("qc " + (f.dir / "no_such_folder"), output), 1);
  EXPECT_EQ(output.rfind("error: " + (f.dir / "no_such_folder"), 0), 0u) << output;
  EXPECT_EQ(std::count(output.begin(), output.end(), '\n'), 1) << output;
}

// The whole shared training set: every file decodes, the default thresholds flag
// no real image, and pixel duplicates match the byte-identical files.
TEST(Qc, SharedTrainingSet) {
  PNEUMOSCAN_REQUIRE_SHARED(train, "data/chest_xray/train");
  std::vector<Sample> samples;
  for (const int label : {kNormal, kPneumonia})
    for (const auto& path : sorted_files(train + "/" + kClassNames[label]))
      samples.push_back({path, label, "", "train"});
  ASSERT_GT(samples.size(), 5000u);

  std::unordered_map<std::string, size_t> by_bytes;
  size_t byte_duplicates = 0;
  for (const auto& s : samples) {
    const std::string bytes = read_file(s.path);
    if (by_bytes[hex64(fnv1a64(bytes.data(), bytes.size())) + std::to_string(bytes.size())]++ > 0)
      ++byte_duplicates;
  }

  const QcReport report = run_qc(samples, {});
  EXPECT_EQ(report.readable, samples.size());
  EXPECT_TRUE(report.unreadable.empty());
  EXPECT_TRUE(report.blank.empty());
  EXPECT_TRUE(report.too_small.empty());
  EXPECT_TRUE(report.blurry.empty());
  EXPECT_EQ(report.duplicate_files, byte_duplicates);
  EXPECT_EQ(report.duplicate_files, 26u);  // measured on ../shared (README says 32)
  EXPECT_EQ(report.duplicates.size(), 24u);
}
