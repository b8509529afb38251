// Tests of src/model_file: round trip, metadata validation, refusal of mismatches.
#include <torch/torch.h>

#include <fstream>

#include "core/atomic_file.h"
#include "core/errors.h"
#include "model_file/model_file.h"
#include "test_support.h"

using namespace pneumoscan;

namespace {
ModelMetadata small_metadata() {
  ModelMetadata m;
  m.name = "test-model";
  m.spec = {"small-cnn", 64, 1, 1};
  m.preprocess.input_size = 64;
  m.preprocess.channels = 1;
  m.threshold = 0.37;
  m.training = {{"note", "unit test"}};
  return m;
}

std::string expect_model_error(const std::string& path) {
  try {
    load_model(path);
  } catch (const ModelFileError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no ModelFileError for " << path;
  return "";
}
}  // namespace

TEST(ModelFile, RoundTripKeepsWeightsAndMetadata) {
  test::TempDir dir;
  const std::string path = dir / "m.psmodel";
  torch::manual_seed(3);
  Classifier net = create_model({"small-cnn", 64, 1, 1});
  to_channels_last(*net);
  save_model(path, small_metadata(), *net);

  LoadedModel loaded = load_model(path);
  EXPECT_EQ(loaded.metadata.name, "test-model");
  EXPECT_EQ(loaded.metadata.spec.architecture, "small-cnn");
  EXPECT_EQ(loaded.metadata.preprocess.input_size, 64);
  EXPECT_DOUBLE_EQ(loaded.metadata.threshold, 0.37);
  EXPECT_EQ(loaded.metadata.training.at("note"), "unit test");
  EXPECT_FALSE(loaded.metadata.created_at.empty());
  net->eval();
  torch::NoGradGuard no_grad;
  const torch::Tensor x = torch::randn({2, 1, 64, 64});
  EXPECT_TRUE(torch::allclose(net->forward(x), loaded.net->forward(x), 1e-5, 1e-6));
}

TEST(ModelFile, RefusesInconsistentPreprocessing) {
  ModelMetadata m = small_metadata();
  m.preprocess.input_size = 128;  // the network was built for 64
  nlohmann::json j = to_json(m);
  EXPECT_THROW(metadata_from_json(j, "x.psmodel"), ModelFileError);
  m = small_metadata();
  j = to_json(m);
  j["preprocess"]["normalization"] = "mystery";
  EXPECT_THROW(metadata_from_json(j, "x.psmodel"), ModelFileError);
  j = to_json(m);
  j.erase("threshold");
  EXPECT_THROW(metadata_from_json(j, "x.psmodel"), ModelFileError);
  j = to_json(m);
  j["class_names"] = {"PNEUMONIA", "NORMAL"};
  EXPECT_THROW(metadata_from_json(j, "x.psmodel"), ModelFileError);
  j = to_json(m);
  j["format_version"] = kModelFormatVersion + 1;
  EXPECT_THROW(metadata_from_json(j, "x.psmodel"), ModelFileError);
}

// Files are written with the oldest format that holds them: per-channel
// normalisation needs format 2, which older programs refuse by version.
TEST(ModelFile, FormatVersionFollowsWhatTheFileNeeds) {
  ModelMetadata m = small_metadata();
  EXPECT_EQ(to_json(m).at("format_version"), 1);
  m.spec.in_channels = 3;
  m.preprocess.channels = 3;
  m.preprocess.normalization = Normalization::kFixed;
  m.preprocess.mean = {0.485f, 0.456f, 0.406f};
  m.preprocess.std = {0.229f, 0.224f, 0.225f};
  EXPECT_EQ(required_format_version(m), 2);
  const nlohmann::json j = to_json(m);
  EXPECT_EQ(j.at("format_version"), 2);
  const ModelMetadata back = metadata_from_json(j, "x.psmodel");
  EXPECT_EQ(back.format_version, 2);
  EXPECT_EQ(back.preprocess.mean, m.preprocess.mean);
}

TEST(ModelFile, RefusesWeightsOfAnotherNetwork) {
  test::TempDir dir;
  const std::string path = dir / "wrong.psmodel";
  // 64-px weights saved under metadata that claims 96 px: the dense layer differs.
  Classifier net64 = create_model({"small-cnn", 64, 1, 1});
  ModelMetadata wrong = small_metadata();
  wrong.spec.input_size = 96;
  wrong.preprocess.input_size = 96;
  save_model(path, wrong, *net64);
  const std::string message = expect_model_error(path);
  EXPECT_NE(message.find("wrong.psmodel"), std::string::npos) << message;
  EXPECT_NE(message.find("shape"), std::string::npos) << message;
  // Weights of another architecture altogether.
  ModelMetadata resnet = small_metadata();
  resnet.spec.architecture = "resnet18";
  save_model(path, resnet, *net64);
  EXPECT_NE(expect_model_error(path).find("lack"), std::string::npos);
}

TEST(ModelFile, RefusesNonModelFiles) {
  test::TempDir dir;
  const std::string text = dir / "notes.psmodel";
  write_file_atomically(text, "hello");
  EXPECT_NE(expect_model_error(text).find("notes.psmodel"), std::string::npos);
  EXPECT_NE(expect_model_error(dir / "missing.psmodel").find("missing.psmodel"), std::string::npos);
  // A valid torch archive that is not ours.
  const std::string foreign = dir / "foreign.pt";
  torch::serialize::OutputArchive archive;
  archive.write("x", torch::ones({2}));
  archive.save_to(foreign);
  EXPECT_NE(expect_model_error(foreign).find("not a PneumoScan model"), std::string::npos);
}

TEST(ModelFile, SaveOntoAFolderFailsCleanly) {
  test::TempDir dir;
  std::filesystem::create_directories(dir / "taken");
  Classifier net = create_model({"small-cnn", 64, 1, 1});
  EXPECT_THROW(save_model(dir / "taken", small_metadata(), *net), IoError);
  int entries = 0;
  for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator(dir.path)) ++entries;
  EXPECT_EQ(entries, 1);  // no temporary left behind
}
