// Tests of src/data/eda.cpp and the `pneumoscan eda` command.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <sstream>

#include "core/atomic_file.h"
#include "data/eda.h"
#include "image/image.h"
#include "test_support.h"

using namespace pneumoscan;
namespace fs = std::filesystem;

TEST(Eda, Summarize) {
  EXPECT_EQ(summarize({}).count, 0u);
  const Summary odd = summarize({5, 1, 3});
  EXPECT_EQ(odd.count, 3u);
  EXPECT_EQ(odd.min, 1);
  EXPECT_EQ(odd.median, 3);
  EXPECT_EQ(odd.max, 5);
  EXPECT_EQ(summarize({4, 1, 2, 10}).median, 3);
}

TEST(Eda, CountsSizesIntensityAndPatients) {
  test::TempDir dir;
  auto write = [&](const std::string& name, int w, int h, int value) {
    const std::string path = dir / name;
    cv::Mat m(h, w, CV_8UC1, cv::Scalar(value));
    m(cv::Rect(0, 0, w / 2, h)) = cv::Scalar(value + 20);  // not constant
    EXPECT_TRUE(cv::imwrite(path, m));
    return path;
  };
  // Means: value + 10 (half the pixels are value + 20).
  const std::vector<Sample> samples = {
      {write("n1.png", 100, 80, 40), kNormal, "p1", "train"},
      {write("n2.png", 100, 80, 90), kNormal, "p1", "train"},
      {write("q1.png", 200, 100, 140), kPneumonia, "p2", "train"},
      {write("q2.png", 200, 100, 160), kPneumonia, "p3", "train"},
      {write("q3.png", 300, 120, 180), kPneumonia, "p3", "train"},
      {write("v1.png", 100, 80, 40), kNormal, "p4", "val"},
      {dir / "missing.png", kPneumonia, "", "val"},
  };
  const EdaReport r = run_eda(samples, 2);
  EXPECT_EQ(r.total, 7u);
  EXPECT_EQ(r.unreadable, 1u);
  ASSERT_EQ(r.splits.size(), 2u);
  EXPECT_EQ(r.splits.at("train").per_class[kNormal], 2u);
  EXPECT_EQ(r.splits.at("train").per_class[kPneumonia], 3u);
  EXPECT_DOUBLE_EQ(*r.splits.at("train").imbalance(), 1.5);
  EXPECT_DOUBLE_EQ(*r.splits.at("val").imbalance(), 1.0);
  EXPECT_EQ(r.overall.total(), 7u);

  EXPECT_EQ(r.patients, 5u);  // p1..p4 and the file without a patient key
  EXPECT_EQ(r.images_per_patient.min, 1);
  EXPECT_EQ(r.images_per_patient.median, 1);
  EXPECT_EQ(r.images_per_patient.max, 2);

  EXPECT_EQ(r.width.count, 6u);
  EXPECT_EQ(r.width.min, 100);
  EXPECT_EQ(r.width.median, 150);
  EXPECT_EQ(r.width.max, 300);
  EXPECT_EQ(r.height.max, 120);
  EXPECT_EQ(r.distinct_sizes, 3u);
  EXPECT_EQ(r.formats.at("png"), 6u);

  EXPECT_EQ(r.intensity[kNormal].images, 3u);
  EXPECT_NEAR(r.intensity[kNormal].mean_of_means, (50 + 100 + 50) / 3.0 / 255.0, 1e-6);
  EXPECT_NEAR(r.intensity[kPneumonia].mean_of_means, (150 + 170 + 190) / 3.0 / 255.0, 1e-6);
  EXPECT_NEAR(r.intensity[kPneumonia].std_of_means, std::sqrt(800.0 / 3.0) / 255.0, 1e-6);
  EXPECT_EQ(r.dicom_files, 0u);

  const nlohmann::json j = to_json(r);
  EXPECT_EQ(j["splits"]["train"]["PNEUMONIA"], 3);
  EXPECT_DOUBLE_EQ(j["splits"]["train"]["imbalance_pneumonia_per_normal"].get<double>(), 1.5);
  EXPECT_EQ(j["image_size"]["distinct_sizes"], 3);

  const std::string table = format_table(r);
  EXPECT_NE(table.find("PNEU/NORM"), std::string::npos) << table;
  EXPECT_NE(table.find("1.50"), std::string::npos) << table;
  EXPECT_EQ(table.find("DICOM"), std::string::npos) << table;
  // Rows of the class-balance table have equal lengths (aligned columns).
  std::istringstream lines(table);
  std::string line;
  std::vector<size_t> lengths;
  while (std::getline(lines, line) && lengths.size() < 5)
    if (line.rfind("  ", 0) == 0) lengths.push_back(line.size());
  ASSERT_EQ(lengths.size(), 5u);  // header, rule, train, val, all
  for (size_t len : lengths) EXPECT_EQ(len, lengths[0]) << table;
}

TEST(Eda, DicomDemographics) {
  PNEUMOSCAN_REQUIRE_SHARED(dir, "data/dicom/rsna");
  std::vector<Sample> samples;
  std::vector<double> ages;
  size_t male = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() != ".dcm") continue;
    samples.push_back({e.path().string(), -1, "", ""});
    const Image image = decode_image(e.path().string());
    ages.push_back(*image.dicom->age_years);
    male += image.dicom->sex == "M";
  }
  const EdaReport r = run_eda(samples);
  EXPECT_EQ(r.dicom_files, 16u);
  EXPECT_EQ(r.formats.at("dicom"), 16u);
  size_t sexed = 0;
  for (const auto& [sex, n] : r.sex) sexed += n;
  EXPECT_EQ(sexed, 16u);
  EXPECT_EQ(r.sex.count("M") ? r.sex.at("M") : 0u, male);
  const Summary expected = summarize(ages);
  EXPECT_EQ(r.age_years.count, 16u);
  EXPECT_EQ(r.age_years.min, expected.min);
  EXPECT_EQ(r.age_years.median, expected.median);
  EXPECT_EQ(r.age_years.max, expected.max);
  EXPECT_EQ(r.overall.unlabelled, 16u);
  EXPECT_FALSE(r.overall.imbalance().has_value());
  EXPECT_TRUE(to_json(r)["overall"]["imbalance_pneumonia_per_normal"].is_null());
  EXPECT_NE(format_table(r).find("DICOM demographics (16 files)"), std::string::npos);
}

TEST(Eda, CommandLine) {
  PNEUMOSCAN_REQUIRE_SHARED(data, "data/chest_xray");
  test::TempDir dir;
  const std::string json = dir / "eda.json";
  const std::string command = std::string(PNEUMOSCAN_CLI_PATH) + " eda " + data + " --json " + json + " > " +
                              (dir / "out.txt") + " 2>&1";
  ASSERT_EQ(std::system(command.c_str()), 0) << read_file(dir / "out.txt");
  const nlohmann::json j = nlohmann::json::parse(read_file(json));
  EXPECT_EQ(j["splits"]["train"]["NORMAL"], 1341);
  EXPECT_EQ(j["splits"]["train"]["PNEUMONIA"], 3875);
  EXPECT_EQ(j["splits"]["val"]["NORMAL"], 8);
  EXPECT_EQ(j["image_size"]["distinct_sizes"], 1);
  EXPECT_NE(read_file(dir / "out.txt").find("Class balance"), std::string::npos);
}
