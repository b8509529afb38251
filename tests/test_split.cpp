// Tests of src/data/split and the `pneumoscan split` command.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>

#include "core/atomic_file.h"
#include "core/errors.h"
#include "data/sample.h"
#include "data/split.h"
#include "test_support.h"

using namespace pneumoscan;
namespace fs = std::filesystem;

namespace {
// Patients per (split, majority label).
std::map<std::string, std::map<int, std::set<std::string>>> patients_by_split(
    const std::vector<Sample>& samples) {
  std::map<std::string, std::map<int, std::set<std::string>>> result;
  for (const Sample& s : samples) result[s.split][s.label].insert(s.patient);
  return result;
}

std::set<std::string> val_patients(const std::vector<Sample>& samples) {
  std::set<std::string> result;
  for (const Sample& s : samples)
    if (s.split == "val") result.insert(s.patient);
  return result;
}

// 40 normal patients with 1-3 images each, 60 pneumonia patients with 1-4.
std::vector<Sample> synthetic(std::vector<Sample> extra = {}) {
  std::vector<Sample> samples;
  for (int p = 0; p < 100; ++p) {
    const int label = p < 40 ? kNormal : kPneumonia;
    const int images = 1 + p % (label == kNormal ? 3 : 4);
    for (int i = 0; i < images; ++i)
      samples.push_back({"img/" + std::to_string(p) + "_" + std::to_string(i) + ".png", label,
                         "patient" + std::to_string(p), "train"});
  }
  samples.insert(samples.end(), extra.begin(), extra.end());
  return samples;
}
}  // namespace

TEST(Split, GroupsPatientsAndStratifies) {
  const std::vector<Sample> out = split_by_patient(synthetic(), {0.25, 1});
  ASSERT_EQ(out.size(), synthetic().size());
  EXPECT_TRUE(patients_in_several_splits(out).empty());
  auto by_split = patients_by_split(out);
  EXPECT_EQ(by_split["val"][kNormal].size(), 10u);     // round(0.25 * 40)
  EXPECT_EQ(by_split["val"][kPneumonia].size(), 15u);  // round(0.25 * 60)
  EXPECT_EQ(by_split["train"][kNormal].size(), 30u);
  EXPECT_EQ(by_split["train"][kPneumonia].size(), 45u);
  // Output keeps the input order and content except the split.
  const std::vector<Sample> in = synthetic();
  for (size_t i = 0; i < in.size(); ++i) {
    EXPECT_EQ(out[i].path, in[i].path);
    EXPECT_EQ(out[i].patient, in[i].patient);
  }
}

TEST(Split, DeterministicPerSeedAndIndependentOfInputOrder) {
  const std::vector<Sample> samples = synthetic();
  const auto a = val_patients(split_by_patient(samples, {0.2, 42}));
  const auto b = val_patients(split_by_patient(samples, {0.2, 42}));
  const auto c = val_patients(split_by_patient(samples, {0.2, 43}));
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  std::vector<Sample> shuffled = samples;
  std::shuffle(shuffled.begin(), shuffled.end(), std::mt19937(5));
  EXPECT_EQ(val_patients(split_by_patient(shuffled, {0.2, 42})), a);
}

TEST(Split, MajorityLabelDecidesStratum) {
  std::vector<Sample> samples;
  // One patient, two pneumonia images and one normal: counts as pneumonia.
  samples.push_back({"a.png", kPneumonia, "mixed", "train"});
  samples.push_back({"b.png", kNormal, "mixed", "train"});
  samples.push_back({"c.png", kPneumonia, "mixed", "train"});
  samples.push_back({"d.png", kNormal, "n1", "train"});
  // With a fraction of 1, every stratum goes to val whole; with 0.5 and one
  // pneumonia patient, round(0.5) = 1 (half away from zero) -> val.
  const auto out = split_by_patient(samples, {0.5, 3});
  EXPECT_EQ(out[0].split, out[1].split);
  EXPECT_EQ(out[0].split, out[2].split);
  EXPECT_EQ(out[0].split, "val");
  EXPECT_EQ(out[3].split, "val");  // round(0.5 * 1) = 1 in the normal stratum too
  const auto none = split_by_patient(samples, {0.0, 3});
  for (const Sample& s : none) EXPECT_EQ(s.split, "train");
}

TEST(Split, TestSamplesAreUntouchedAndUnassignedAreSplit) {
  std::vector<Sample> extra = {{"t1.png", kNormal, "patient3", "test"},
                               {"t2.png", kPneumonia, "tp", "test"},
                               {"u.png", kPneumonia, "", ""}};
  const std::vector<Sample> out = split_by_patient(synthetic(extra), {0.3, 9});
  const size_t n = out.size();
  EXPECT_EQ(out[n - 3].split, "test");
  EXPECT_EQ(out[n - 2].split, "test");
  EXPECT_TRUE(out[n - 1].split == "train" || out[n - 1].split == "val");
  // Test samples do not count in the strata: still round(0.3 * 40) normal patients in val.
  std::set<std::string> normal_val;
  for (const Sample& s : out)
    if (s.split == "val" && s.label == kNormal && !s.patient.empty()) normal_val.insert(s.patient);
  EXPECT_EQ(normal_val.size(), 12u);
  EXPECT_THROW(split_by_patient(out, {1.5, 1}), UsageError);
  EXPECT_THROW(split_by_patient(out, {-0.1, 1}), UsageError);
}

TEST(Split, PatientsInSeveralSplits) {
  const std::vector<Sample> samples = {
      {"a", 0, "p1", "train"}, {"b", 0, "p1", "val"},   {"c", 1, "p2", "train"},
      {"d", 1, "p2", "train"}, {"e", 1, "", "train"},   {"f", 1, "", "val"},
      {"g", 0, "p3", "test"},  {"h", 0, "p3", "train"}, {"i", 0, "p4", ""}};
  EXPECT_EQ(patients_in_several_splits(samples), (std::vector<std::string>{"p1", "p3"}));
}

TEST(Split, RealTrainSetHasNoLeakageAndKeepsFraction) {
  PNEUMOSCAN_REQUIRE_SHARED(root, "data/chest_xray");
  const std::vector<Sample> train = select_split(read_dataset(root), "train");
  ASSERT_EQ(train.size(), 5216u);
  const std::vector<Sample> out = split_by_patient(train, {0.15, 42});
  EXPECT_TRUE(patients_in_several_splits(out).empty());
  auto by_split = patients_by_split(out);
  for (int label : {kNormal, kPneumonia}) {
    const double val = static_cast<double>(by_split["val"][label].size());
    const double total = val + static_cast<double>(by_split["train"][label].size());
    EXPECT_NEAR(val / total, 0.15, 0.005) << kClassNames[label];
  }
  // Images follow patients: roughly 15% of the images per class too.
  std::map<std::string, std::map<int, int>> images;
  for (const Sample& s : out) ++images[s.split][s.label];
  for (int label : {kNormal, kPneumonia}) {
    const double fraction = static_cast<double>(images["val"][label]) /
                            static_cast<double>(images["val"][label] + images["train"][label]);
    EXPECT_NEAR(fraction, 0.15, 0.04) << kClassNames[label];
  }
  const auto again = val_patients(split_by_patient(train, {0.15, 42}));
  EXPECT_EQ(again, val_patients(out));
  EXPECT_NE(val_patients(split_by_patient(train, {0.15, 7})), again);
}

TEST(SplitCommand, WritesManifestAndTable) {
  test::TempDir dir;
  for (const char* name : {"train/NORMAL/IM-0001-0001.jpeg", "train/NORMAL/IM-0001-0002.jpeg",
                           "train/NORMAL/IM-0002-0001.jpeg", "train/NORMAL/IM-0003-0001.jpeg",
                           "train/PNEUMONIA/person1_virus_1.jpeg", "train/PNEUMONIA/person1_bacteria_2.jpeg",
                           "train/PNEUMONIA/person2_virus_3.jpeg", "train/PNEUMONIA/person3_virus_4.jpeg",
                           "val/NORMAL/IM-0009-0001.jpeg", "test/PNEUMONIA/person8_virus_9.jpeg"}) {
    fs::create_directories((dir.path / name).parent_path());
    std::ofstream(dir.path / name) << "x";
  }
  const std::string manifest = dir / "out/manifest.csv";
  const std::string log = dir / "log.txt";
  const std::string command = std::string(PNEUMOSCAN_CLI_PATH) + " split '" + dir.path.string() +
                              "' --out '" + manifest + "' --val-fraction 0.34 --seed 5 > '" + log + "' 2>&1";
  ASSERT_EQ(std::system(command.c_str()), 0) << read_file(log);
  const std::string output = read_file(log);
  EXPECT_NE(output.find("patients in more than one split: 0"), std::string::npos) << output;
  EXPECT_NE(output.find("official val"), std::string::npos) << output;

  const std::vector<Sample> samples = read_manifest(manifest);
  ASSERT_EQ(samples.size(), 9u);  // 8 train + 1 test; the official val image left out
  EXPECT_TRUE(patients_in_several_splits(samples).empty());
  std::map<std::string, int> per_split;
  for (const Sample& s : samples) {
    EXPECT_TRUE(fs::path(s.path).is_absolute()) << s.path;
    EXPECT_TRUE(fs::exists(s.path)) << s.path;
    ++per_split[s.split];
  }
  EXPECT_EQ(per_split["test"], 1);
  EXPECT_EQ(per_split["train"] + per_split["val"], 8);
  EXPECT_GE(per_split["val"], 2);  // one patient of three per class

  // --include-official-val adds the official val image to the carve input.
  const std::string with_val = std::string(PNEUMOSCAN_CLI_PATH) + " split '" + dir.path.string() +
                               "' --out '" + manifest + "' --include-official-val > '" + log + "' 2>&1";
  ASSERT_EQ(std::system(with_val.c_str()), 0) << read_file(log);
  EXPECT_EQ(read_manifest(manifest).size(), 10u);

  // A bad folder fails with a one-line error naming it.
  const std::string bad = std::string(PNEUMOSCAN_CLI_PATH) + " split '" + (dir / "nowhere") + "' --out '" +
                          manifest + "' > '" + log + "' 2>&1";
  EXPECT_NE(std::system(bad.c_str()), 0);
  EXPECT_NE(read_file(log).find("nowhere"), std::string::npos);
}
