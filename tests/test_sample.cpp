// Tests of src/data/sample: patient keys, folder reader, CSV manifests.
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "core/atomic_file.h"
#include "core/errors.h"
#include "data/sample.h"
#include "test_support.h"

using namespace pneumoscan;
namespace fs = std::filesystem;

namespace {
void touch(const std::string& path, const std::string& content = "x") {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << content;
}

std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST(Dataset, PatientFromKermanyFileNames) {
  EXPECT_EQ(patient_from_filename("person100_bacteria_475.jpeg"), "person100");
  EXPECT_EQ(patient_from_filename("person1_virus_6.jpeg"), "person1");
  EXPECT_EQ(patient_from_filename("/data/train/PNEUMONIA/person1_virus_6.jpeg"), "person1");
  EXPECT_EQ(patient_from_filename("person1637_virus_2834_0001.jpeg"), "person1637");  // rare 4-part form
  EXPECT_EQ(patient_from_filename("IM-0001-0001.jpeg"), "IM-0001");
  EXPECT_EQ(patient_from_filename("train/NORMAL/IM-0640-0001-0001.jpeg"), "IM-0640");
  EXPECT_EQ(patient_from_filename("NORMAL2-IM-0012-0001.jpeg"), "NORMAL2-IM-0012");
  EXPECT_EQ(patient_from_filename("NORMAL2-IM-1152-0001-0002.jpeg"), "NORMAL2-IM-1152");
  // Anything else: one image, one patient.
  EXPECT_EQ(patient_from_filename("/x/scan_0042.png"), "scan_0042");
  EXPECT_EQ(patient_from_filename("0004cfab-14fd-4e49-80ba-63a80b6bddd6.dcm"),
            "0004cfab-14fd-4e49-80ba-63a80b6bddd6");
  EXPECT_EQ(patient_from_filename("person12.jpeg"), "person12");
  EXPECT_EQ(patient_from_filename("personA_virus_1.jpeg"), "personA_virus_1");
  EXPECT_EQ(patient_from_filename("IM-0001.jpeg"), "IM-0001");
  EXPECT_EQ(patient_from_filename("IM-0001-x.jpeg"), "IM-0001-x");
  EXPECT_EQ(patient_from_filename("noext"), "noext");
}

TEST(Dataset, LabelFromName) {
  EXPECT_EQ(label_from_name("NORMAL"), kNormal);
  EXPECT_EQ(label_from_name("normal"), kNormal);
  EXPECT_EQ(label_from_name("0"), kNormal);
  EXPECT_EQ(label_from_name("Pneumonia"), kPneumonia);
  EXPECT_EQ(label_from_name("1"), kPneumonia);
  EXPECT_EQ(label_from_name("covid"), -1);
  EXPECT_EQ(label_from_name(""), -1);
}

TEST(Dataset, ReadsSplitLayoutSortedWithOnlyImages) {
  test::TempDir dir;
  touch(dir / "train/NORMAL/IM-0002-0001.jpeg");
  touch(dir / "train/NORMAL/IM-0001-0001.JPG");
  touch(dir / "train/NORMAL/.hidden.jpeg");
  touch(dir / "train/NORMAL/notes.txt");
  touch(dir / "train/NORMAL/Thumbs.db");
  touch(dir / "train/pneumonia/person3_virus_9.png");
  touch(dir / "train/pneumonia/person3_bacteria_10.dcm");
  touch(dir / "train/pneumonia/nested/person9_virus_1.jpeg");  // not recursive
  touch(dir / "val/Normal/scan.tiff");
  touch(dir / "test/PNEUMONIA/person7_bacteria_1.bmp");
  touch(dir / "other/NORMAL/ignored.jpeg");
  fs::create_directories(dir / "val/PNEUMONIA");

  const std::vector<Sample> samples = read_folder(dir.path.string());
  ASSERT_EQ(samples.size(), 6u);
  const std::vector<std::string> names = {
      "IM-0001-0001.JPG",    "IM-0002-0001.jpeg", "person3_bacteria_10.dcm",
      "person3_virus_9.png", "scan.tiff",         "person7_bacteria_1.bmp"};
  const std::vector<std::string> splits = {"train", "train", "train", "train", "val", "test"};
  const std::vector<int> labels = {kNormal, kNormal, kPneumonia, kPneumonia, kNormal, kPneumonia};
  for (size_t i = 0; i < samples.size(); ++i) {
    EXPECT_EQ(fs::path(samples[i].path).filename().string(), names[i]) << i;
    EXPECT_EQ(samples[i].split, splits[i]) << i;
    EXPECT_EQ(samples[i].label, labels[i]) << i;
    EXPECT_TRUE(fs::exists(samples[i].path)) << samples[i].path;
  }
  EXPECT_EQ(samples[0].patient, "IM-0001");
  EXPECT_EQ(samples[2].patient, "person3");
  EXPECT_EQ(samples[3].patient, "person3");
  EXPECT_EQ(samples[4].patient, "scan");
}

TEST(Dataset, ReadsFlatClassLayoutWithEmptySplit) {
  test::TempDir dir;
  touch(dir / "NORMAL/b.png");
  touch(dir / "NORMAL/a.png");
  touch(dir / "PNEUMONIA/c.jpeg");
  const std::vector<Sample> samples = read_folder(dir.path.string());
  ASSERT_EQ(samples.size(), 3u);
  EXPECT_EQ(fs::path(samples[0].path).filename(), "a.png");
  EXPECT_EQ(fs::path(samples[1].path).filename(), "b.png");
  EXPECT_EQ(samples[2].label, kPneumonia);
  for (const Sample& s : samples) EXPECT_EQ(s.split, "");
  // read_dataset dispatches folders to read_folder.
  EXPECT_EQ(read_dataset(dir.path.string()).size(), 3u);
}

TEST(Dataset, RejectsFolderWithoutKnownLayout) {
  test::TempDir dir;
  touch(dir / "images/a.png");
  touch(dir / "train/cats/a.png");
  const std::string message = error_of([&] { read_folder(dir.path.string()); });
  EXPECT_NE(message.find(dir.path.string()), std::string::npos) << message;
  EXPECT_NE(message.find("expected train/val/test or NORMAL/PNEUMONIA folders"), std::string::npos)
      << message;
  EXPECT_THROW(read_dataset(dir / "missing"), InputError);
  touch(dir / "list.txt");
  EXPECT_THROW(read_dataset(dir / "list.txt"), InputError);
}

TEST(Dataset, ReadsRealChestXrayFolder) {
  PNEUMOSCAN_REQUIRE_SHARED(root, "data/chest_xray");
  const std::vector<Sample> samples = read_dataset(root);
  std::map<std::string, std::map<int, int>> counts;
  for (const Sample& s : samples) ++counts[s.split][s.label];
  EXPECT_EQ(counts["train"][kNormal], 1341);
  EXPECT_EQ(counts["train"][kPneumonia], 3875);
  EXPECT_EQ(counts["train"][kNormal] + counts["train"][kPneumonia], 5216);
  EXPECT_EQ(counts["val"][kNormal], 8);
  EXPECT_EQ(counts["val"][kPneumonia], 8);
  EXPECT_EQ(samples.size(), 5232u);
  EXPECT_EQ(select_split(samples, "train").size(), 5216u);
  EXPECT_EQ(select_split(samples, "val").size(), 16u);
  std::set<std::string> patients;
  for (const Sample& s : select_split(samples, "train")) {
    ASSERT_FALSE(s.patient.empty());
    // Every real name has one of the Kermany forms, so the key is shorter than the stem.
    EXPECT_NE(s.patient, fs::path(s.path).stem().string()) << s.path;
    patients.insert(s.patient);
  }
  EXPECT_LT(patients.size(), 5216u);  // several images per patient exist
}

TEST(Dataset, ManifestRoundTripWithQuoting) {
  test::TempDir dir;
  std::vector<Sample> samples = {
      {dir / "imgs/plain.png", kNormal, "IM-0001", "train"},
      {dir / "imgs/with,comma.png", kPneumonia, "p\"quoted\", x", "val"},
      {dir / "imgs/line\nbreak.png", kPneumonia, "person5", "test"},
      {dir / "imgs/unknown.png", -1, "u", ""},
  };
  const std::string csv = dir / "manifest.csv";
  write_manifest(csv, samples);
  const std::string text = read_file(csv);
  EXPECT_EQ(text.rfind("path,label,patient,split\n", 0), 0u) << text;
  EXPECT_NE(text.find("\"p\"\"quoted\"\", x\""), std::string::npos) << text;
  EXPECT_NE(text.find(",PNEUMONIA,"), std::string::npos);

  const std::vector<Sample> back = read_manifest(csv);
  ASSERT_EQ(back.size(), samples.size());
  for (size_t i = 0; i < samples.size(); ++i) {
    EXPECT_EQ(back[i].path, samples[i].path) << i;
    EXPECT_EQ(back[i].label, samples[i].label) << i;
    EXPECT_EQ(back[i].patient, samples[i].patient) << i;
    EXPECT_EQ(back[i].split, samples[i].split) << i;
  }
  EXPECT_EQ(read_dataset(csv).size(), samples.size());
}

TEST(Dataset, ManifestColumnsInAnyOrderRelativePathsAndDefaults) {
  test::TempDir dir;
  const std::string csv = dir / "sets/m.csv";
  touch(csv,
        "\xEF\xBB\xBFsplit,Label,path\r\n"
        "train,normal,imgs/IM-0007-0002.jpeg\r\n"
        "\r\n"
        "VAL,1,\"/abs/person2_virus_3.jpeg\"\r\n"
        ",PNEUMONIA,\"../up/a,b.png\"");
  const std::vector<Sample> samples = read_manifest(csv);
  ASSERT_EQ(samples.size(), 3u);
  EXPECT_EQ(samples[0].path, (fs::path(dir / "sets") / "imgs/IM-0007-0002.jpeg").string());
  EXPECT_EQ(samples[0].label, kNormal);
  EXPECT_EQ(samples[0].patient, "IM-0007");  // from the file name
  EXPECT_EQ(samples[0].split, "train");
  EXPECT_EQ(samples[1].path, "/abs/person2_virus_3.jpeg");
  EXPECT_EQ(samples[1].patient, "person2");
  EXPECT_EQ(samples[1].split, "val");
  EXPECT_EQ(samples[2].path, (fs::path(dir / "sets") / "../up/a,b.png").string());
  EXPECT_EQ(samples[2].split, "");
  EXPECT_EQ(samples[2].label, kPneumonia);
}

TEST(Dataset, ManifestErrorsNameFileAndLine) {
  test::TempDir dir;
  const std::string csv = dir / "bad.csv";
  touch(csv, "path,label\na.png,NORMAL\n\"multi\nline.png\",PNEUMONIA\nc.png,covid\n");
  const std::string message = error_of([&] { read_manifest(csv); });
  EXPECT_NE(message.find(csv), std::string::npos) << message;
  EXPECT_NE(message.find("line 5: unknown label 'covid'"), std::string::npos) << message;

  touch(csv, "path,patient\na.png,p\n");
  EXPECT_NE(error_of([&] { read_manifest(csv); }).find("label"), std::string::npos);
  touch(csv, "path,label\na.png,NORMAL,extra\n");
  EXPECT_NE(error_of([&] { read_manifest(csv); }).find("line 2"), std::string::npos);
  touch(csv, "path,label,split\na.png,NORMAL,holdout\n");
  EXPECT_NE(error_of([&] { read_manifest(csv); }).find("line 2: unknown split"), std::string::npos);
  touch(csv, "path,label\n\"a.png,NORMAL\n");
  EXPECT_NE(error_of([&] { read_manifest(csv); }).find("unterminated"), std::string::npos);
  // Missing image files are not this reader's concern.
  touch(csv, "path,label\nnowhere.png,NORMAL\n");
  EXPECT_EQ(read_manifest(csv).size(), 1u);
}

TEST(Dataset, PlainFolderOfImagesIsUnlabelled) {
  test::TempDir dir;
  touch(dir / "b.dcm");
  touch(dir / "a.png");
  touch(dir / "notes.txt");
  const std::vector<Sample> samples = read_folder(dir.path.string());
  ASSERT_EQ(samples.size(), 2u);
  EXPECT_NE(samples[0].path.find("a.png"), std::string::npos);
  for (const Sample& s : samples) {
    EXPECT_EQ(s.label, -1);
    EXPECT_EQ(s.split, "");
  }
}

TEST(Dataset, ManifestErrorsQuoteHugeFieldsShortAndRefuseNulInPaths) {
  test::TempDir dir;
  const std::string csv = dir / "m.csv";
  // A 10 MB label: the message stays one short line.
  write_file_atomically(csv, "path,label\na.png,\"" + std::string(10u << 20, 'Z') + "\"\n");
  const std::string message = error_of([&] { read_manifest(csv); });
  EXPECT_EQ(message.rfind(csv + ": line 2: unknown label 'ZZZZ", 0), 0u) << message.substr(0, 200);
  EXPECT_LT(message.size(), csv.size() + 200);
  EXPECT_NE(message.find("... (10485760 bytes)"), std::string::npos) << message;
  // A NUL byte would cut the path short at the file system: another file would be read.
  write_file_atomically(csv, std::string("path,label\ngood.png,NORMAL\n\"evil.png\0.jpeg\",PNEUMONIA\n", 54));
  const std::string nul = error_of([&] { read_manifest(csv); });
  EXPECT_EQ(nul, csv + ": line 3: path contains a NUL byte: 'evil.png?.jpeg'");
  // Control bytes in a quoted value are shown as '?', keeping the message on one line.
  write_file_atomically(csv, "path,label,split\na.png,NORMAL,\"tr\nain\"\n");
  const std::string split = error_of([&] { read_manifest(csv); });
  EXPECT_EQ(split, csv + ": line 2: unknown split 'tr?ain'");
}
