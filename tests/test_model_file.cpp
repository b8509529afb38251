// Tests of src/model_file: round trip, metadata validation, refusal of mismatches.
#include <caffe2/serialize/inline_container.h>
#include <torch/torch.h>

#include <fstream>
#include <functional>
#include <iterator>
#include <limits>

#include "archive_support.h"
#include "core/atomic_file.h"
#include "core/errors.h"
#include "core/json_text.h"
#include "file_size_limit.h"
#include "model_file/archive.h"
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

// Saves a small-cnn with weights from `seed` at `path`; returns the file's bytes.
std::string saved_small_model(int seed, const std::string& path) {
  torch::manual_seed(seed);
  save_model(path, small_metadata(), *create_model(small_metadata().spec));
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
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

TEST(ModelFile, FullFileSystemKeepsThePreviousModel) {
  test::TempDir dir;
  const std::string path = dir / "m.psmodel";
  Classifier net = create_model({"small-cnn", 64, 1, 1});
  save_model(path, small_metadata(), *net);
  const std::string previous = read_file(path);
  Classifier other = create_model({"small-cnn", 64, 1, 1});
  try {
    const test::FileSizeLimit limit(previous.size() / 2);
    save_model(path, small_metadata(), *other);
    FAIL() << "a model larger than the file size limit was written";
  } catch (const IoError& e) {
    EXPECT_EQ(std::string(e.what()).rfind(path + ": write failed: ", 0), 0u) << e.what();
  }
  EXPECT_EQ(read_file(path), previous);
  EXPECT_EQ(test::file_names(dir.path), std::vector<std::string>{"m.psmodel"});
  EXPECT_NO_THROW(load_model(path));
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

// --- integrity (issue 14) -------------------------------------------------------

namespace {

std::string saved_model(const test::TempDir& dir, const std::string& name = "m.psmodel") {
  const std::string path = dir / name;
  torch::manual_seed(5);
  Classifier net = create_model({"small-cnn", 64, 1, 1});
  save_model(path, small_metadata(), *net);
  return path;
}

using test::rewrite_archive;

// The name of the largest weight record ("data/N").
std::string largest_record(const std::string& path) {
  caffe2::serialize::PyTorchStreamReader reader(path);
  std::string best;
  size_t best_size = 0;
  for (const std::string& name : reader.getAllRecords()) {
    if (name.rfind("data/", 0) != 0) continue;
    const size_t size = std::get<1>(reader.getRecord(name));
    if (size > best_size) best = name, best_size = size;
  }
  return best;
}

}  // namespace

TEST(ModelFileIntegrity, SavedFilesVerify) {
  test::TempDir dir;
  const std::string path = saved_model(dir);
  const LoadedModel loaded = load_model(path);
  EXPECT_EQ(loaded.metadata.checksum_algorithm, "fnv1a64");
  EXPECT_EQ(loaded.checksum.size(), 16u);
  EXPECT_EQ(loaded.integrity_warning, "");
  // The checksum is a function of content: saving the same weights again gives the same one.
  const test::CommandResult info = test::run_cli("info --model " + path);
  EXPECT_EQ(info.exit_code, 0) << info.output;
  EXPECT_NE(info.output.find("\"verified\": true"), std::string::npos) << info.output;
  EXPECT_NE(info.output.find(loaded.checksum), std::string::npos) << info.output;
}

TEST(ModelFileIntegrity, FlippedBitsInWeightsOrMetadataAreCaught) {
  test::TempDir dir;
  const std::string path = saved_model(dir);
  // 16 bits flipped inside the largest weight, in place (records are stored uncompressed).
  std::string bytes = read_file(path);
  size_t offset = 0;
  {
    caffe2::serialize::PyTorchStreamReader reader(path);
    offset = reader.getRecordOffset(largest_record(path));
  }
  for (int i = 0; i < 16; ++i) bytes[offset + 100 + 37 * i] ^= static_cast<char>(1 << (i % 8));
  const std::string flipped = dir / "flipped.psmodel";
  write_file_atomically(flipped, bytes);
  EXPECT_EQ(expect_model_error(flipped), flipped + ": checksum mismatch: the file is damaged");
  const test::CommandResult info = test::run_cli("info --model " + flipped);
  EXPECT_EQ(info.exit_code, 1);
  EXPECT_NE(info.output.find("checksum mismatch: the file is damaged"), std::string::npos) << info.output;

  // The threshold edited in the metadata text (same length, still valid JSON).
  std::string edited = read_file(path);
  const size_t at = edited.find("\"threshold\":0.37");
  ASSERT_NE(at, std::string::npos);
  edited.replace(at, 16, "\"threshold\":0.99");
  const std::string edited_path = dir / "edited.psmodel";
  write_file_atomically(edited_path, edited);
  EXPECT_EQ(expect_model_error(edited_path), edited_path + ": checksum mismatch: the file is damaged");

  // The checksum record removed.
  const std::string stripped = dir / "stripped.psmodel";
  bool saw_checksum = false;
  rewrite_archive(path, stripped, [&](const std::string&, std::string& data) {
    // The checksum is an attribute of the archive's module; renamed everywhere
    // (same length, so the pickles stay well formed), it is no longer found.
    for (size_t key = data.find("pneumoscan_checksum"); key != std::string::npos;
         key = data.find("pneumoscan_checksum", key)) {
      data.replace(key, 19, "pneumoscan_checksuX");
      saw_checksum = true;
    }
    return true;
  });
  ASSERT_TRUE(saw_checksum);
  EXPECT_EQ(expect_model_error(stripped), stripped + ": checksum missing: the file is damaged");
}

TEST(ModelFileIntegrity, WeightEmptiedOrCutShortIsAnErrorNotACrash) {
  test::TempDir dir;
  const std::string path = saved_model(dir);
  const std::string target = largest_record(path);
  ASSERT_FALSE(target.empty());
  for (const size_t keep : {size_t{0}, size_t{100}}) {
    const std::string damaged = dir / ("cut" + std::to_string(keep) + ".psmodel");
    rewrite_archive(path, damaged, [&](const std::string& name, std::string& data) {
      if (name == target) data.resize(keep);
      return true;
    });
    const std::string message = expect_model_error(damaged);
    EXPECT_EQ(message.rfind(damaged + ": damaged model file: '", 0), 0u) << message;
    EXPECT_NE(message.find(" bytes, the file holds " + std::to_string(keep) + " (emptied or cut short)"),
              std::string::npos)
        << message;
    // The crash was `predict` on such a file (`info` passed it): both now end in one line.
    for (const std::string command : {"info --model " + damaged, "predict --model " + damaged + " x.png"}) {
      const test::CommandResult result = test::run_cli(command);
      EXPECT_EQ(result.exit_code, 1) << command << "\n" << result.output;
      EXPECT_EQ(result.output.rfind("error: " + damaged + ": damaged model file: ", 0), 0u) << result.output;
      EXPECT_EQ(result.output.find('\n'), result.output.size() - 1) << result.output;
    }
  }
  // A weight record missing altogether.
  const std::string missing = dir / "missing.psmodel";
  rewrite_archive(path, missing, [&](const std::string& name, std::string&) { return name != target; });
  const std::string message = expect_model_error(missing);
  EXPECT_EQ(message.rfind(missing + ": ", 0), 0u) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
}

TEST(ModelFileIntegrity, NonFiniteWeightsAreRefused) {
  test::TempDir dir;
  const float bad_values[] = {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                              -std::numeric_limits<float>::infinity()};
  for (size_t i = 0; i < 3; ++i) {
    Classifier net = create_model({"small-cnn", 64, 1, 1});
    {
      torch::NoGradGuard no_grad;
      net->parameters().back().view(-1)[0] = bad_values[i];  // the last weight, its first value
    }
    const std::string path = dir / ("bad" + std::to_string(i) + ".psmodel");
    save_model(path, small_metadata(), *net);
    const std::string message = expect_model_error(path);
    EXPECT_NE(message.find("holds NaN or infinite values"), std::string::npos) << message;
  }
  // The largest finite float is not refused.
  Classifier net = create_model({"small-cnn", 64, 1, 1});
  {
    torch::NoGradGuard no_grad;
    net->parameters().front().view(-1)[3] = std::numeric_limits<float>::max();
  }
  const std::string path = dir / "max.psmodel";
  save_model(path, small_metadata(), *net);
  EXPECT_NO_THROW(load_model(path));
}

TEST(ModelFileIntegrity, FilesWithoutChecksumLoadWithAWarning) {
  // Written as save_model did before checksums: metadata without "checksum", no checksum record.
  test::TempDir dir;
  Classifier net = create_model({"small-cnn", 64, 1, 1});
  nlohmann::json metadata = to_json(small_metadata());
  metadata.erase("checksum");
  c10::Dict<std::string, torch::Tensor> weights;
  for (auto& [name, tensor] : state_dict(*net)) weights.insert(name, tensor.detach().contiguous().clone());
  torch::serialize::OutputArchive archive;
  archive.write("pneumoscan_metadata", c10::IValue(metadata.dump()));
  archive.write("pneumoscan_weights", c10::IValue(weights));
  const std::string path = dir / "legacy.psmodel";
  archive.save_to(path);
  const LoadedModel loaded = load_model(path);
  EXPECT_EQ(loaded.checksum, "");
  EXPECT_NE(loaded.integrity_warning.find("no checksum"), std::string::npos);
  const test::CommandResult info = test::run_cli("info --model " + path);
  EXPECT_EQ(info.exit_code, 0) << info.output;
  EXPECT_NE(info.output.find("\"verified\": false"), std::string::npos) << info.output;
  // The bundled model was rewritten with its intended use (experiments/gate.sh), so it now verifies.
  const std::string bundled = std::string(PNEUMOSCAN_SOURCE_DIR) + "/models/default.psmodel";
  ASSERT_TRUE(std::filesystem::exists(bundled));
  const LoadedModel default_model = load_model(bundled);
  EXPECT_EQ(default_model.checksum.size(), 16u);
  EXPECT_EQ(default_model.integrity_warning, "");
  const test::CommandResult bundled_info = test::run_cli("info --model " + bundled);
  EXPECT_EQ(bundled_info.exit_code, 0) << bundled_info.output;
  EXPECT_NE(bundled_info.output.find("\"verified\": true"), std::string::npos) << bundled_info.output;
}

TEST(ModelFileIntegrity, EnsembleFilesGetAVerifiedChecksum) {
  test::TempDir dir;
  ModelMetadata metadata = small_metadata();
  metadata.ensemble_size = 2;
  Classifier net = create_network(metadata);
  const std::string path = dir / "ensemble.psmodel";
  save_model(path, metadata, *net);
  const LoadedModel loaded = load_model(path);
  EXPECT_EQ(loaded.metadata.ensemble_size, 2);
  EXPECT_EQ(loaded.checksum.size(), 16u);
  EXPECT_EQ(loaded.integrity_warning, "");
}

TEST(ModelFileIntegrity, LibraryTextsBecomeOneLineErrors) {
  test::TempDir dir;
  const std::string path = saved_model(dir);
  // A damaged code record: LibTorch says "Unknown type name '__torch__...'" or similar.
  const std::string damaged = dir / "code.psmodel";
  rewrite_archive(path, damaged, [](const std::string& name, std::string& data) {
    if (name == "data.pkl")
      for (size_t i = 2; i < data.size() && i < 40; ++i) data[i] = 'Z';
    return true;
  });
  const std::string message = expect_model_error(damaged);
  EXPECT_EQ(message.rfind(damaged + ": ", 0), 0u) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  EXPECT_EQ(message.find("__torch__"), std::string::npos) << message;
  EXPECT_EQ(message.find("json.exception"), std::string::npos) << message;
  // Metadata missing a field: nlohmann's out_of_range text is reworded.
  nlohmann::json j = to_json(small_metadata());
  j.erase("name");
  try {
    metadata_from_json(j, "x.psmodel");
    ADD_FAILURE();
  } catch (const ModelFileError& e) {
    EXPECT_EQ(std::string(e.what()), "x.psmodel: bad metadata: key 'name' not found");
  }
}

// Found with fuzz/fuzz_model_metadata's harness (a crafted input, then kept
// as a seed): a file of a few kilobytes whose metadata (checksum recomputed,
// as anyone can) claims a 64-member ResNet-50 ensemble made load_model build
// all 64 (over 4 GB, a minute) before finding no weights behind them. One
// member is built, then the file is refused.
TEST(ModelFileIntegrity, EnsembleClaimedWithoutItsWeightsIsRefusedAfterOneMember) {
  test::TempDir dir;
  ModelMetadata metadata = small_metadata();
  metadata.ensemble_size = 64;
  metadata.checksum_algorithm = "fnv1a64";
  const std::string path = dir / "claims.psmodel";
  torch::nn::Module no_weights;
  write_network_archive(path, json_text(to_json(metadata)), no_weights);
  Classifier member = create_model(metadata.spec);
  int64_t member_values = 0;
  for (const auto& [name, tensor] : state_dict(*member)) member_values += tensor.numel();
  EXPECT_EQ(expect_model_error(path),
            path +
                ": its weights (0 values) are not those of the ensemble it describes "
                "(64 x small-cnn at 64 px: " +
                std::to_string(64 * member_values) + " values)");
  // A real ensemble with one member's weights missing is refused the same way.
  metadata.ensemble_size = 2;
  Classifier pair = create_network(metadata);
  NamedTensors weights = state_dict(*pair);
  weights.resize(weights.size() / 2);
  const std::string half = dir / "half.psmodel";
  write_network_archive(half, json_text(to_json(metadata)), no_weights, weights);
  EXPECT_NE(expect_model_error(half).find("are not those of the ensemble it describes (2 x small-cnn"),
            std::string::npos);
}

// Members that differ are described one by one (format 4); a description that
// names an unknown network, miscounts the members, gives a member input the
// ensemble's cannot be mapped onto, or does not fit the stored weights is
// refused with the file's name.
TEST(ModelFileIntegrity, DifferingMembersAreDescribedAndCheckedAgainstTheWeights) {
  test::TempDir dir;
  ModelMetadata metadata = small_metadata();
  metadata.spec = {"mobilenet-v2", 64, 1, 1};  // its feature map is the ResNet's size (2x2 at 64 px)
  metadata.preprocess.normalization = Normalization::kFixed;
  metadata.preprocess.mean = {0.5f};
  metadata.preprocess.std = {0.5f};
  metadata.ensemble_size = 2;
  EnsembleMember imagenet{{"resnet18", 64, 3, 1}, metadata.preprocess};
  imagenet.preprocess.channels = 3;
  imagenet.preprocess.mean = {0.485f, 0.456f, 0.406f};
  imagenet.preprocess.std = {0.229f, 0.224f, 0.225f};
  metadata.members = {{metadata.spec, metadata.preprocess}, imagenet};
  metadata.checksum_algorithm = "fnv1a64";
  Classifier mixed = create_network(metadata);
  const std::string path = dir / "mixed.psmodel";
  save_model(path, metadata, *mixed);
  const LoadedModel loaded = load_model(path);
  EXPECT_EQ(loaded.metadata.format_version, 4);
  EXPECT_EQ(architecture_summary(loaded.metadata), "mobilenet-v2 + resnet18");

  const nlohmann::json good = to_json(metadata);
  const auto refused = [&](nlohmann::json json, const std::string& problem) {
    try {
      metadata_from_json(json, "m.psmodel");
      ADD_FAILURE() << "accepted: " << problem;
    } catch (const ModelFileError& e) {
      EXPECT_NE(std::string(e.what()).find(problem), std::string::npos) << e.what();
    }
  };
  nlohmann::json unknown = good;
  unknown["members"][1]["architecture"] = "nonesuch";
  refused(unknown, "member 1: ");
  nlohmann::json miscounted = good;
  miscounted["members"].erase(1);
  refused(miscounted, "describes 1 members for an ensemble of 2");
  nlohmann::json per_image = good;
  per_image["members"][1]["preprocess"]["normalization"] = "image_zscore";
  refused(per_image, "member 1: its normalisation (image_zscore)");
  nlohmann::json resized = good;
  resized["members"][1]["preprocess"]["input_size"] = 96;
  resized["members"][1]["input_size"] = 96;
  refused(resized, "member 1: its input size 96 px");

  // The weights of two MobileNetV2 networks under the description of a MobileNetV2 and a ResNet.
  ModelMetadata alike = metadata;
  alike.members.clear();
  Classifier pair = create_network(alike);
  const std::string swapped = dir / "swapped.psmodel";
  torch::nn::Module no_weights;
  write_network_archive(swapped, json_text(to_json(metadata)), no_weights, state_dict(*pair));
  EXPECT_NE(
      expect_model_error(swapped).find("are not those of the ensemble it describes (mobilenet-v2 + resnet18"),
      std::string::npos);
}

// A network's input side decides how much building it takes; a model file
// cannot ask for more than kMaxInputSize (small-cnn at 2048 px: 2.1 GB).
TEST(ModelFile, InputSizeOverTheLimitIsRefusedBeforeBuilding) {
  test::TempDir dir;
  ModelMetadata metadata = small_metadata();
  metadata.spec.input_size = 2048;
  metadata.preprocess.input_size = 2048;
  metadata.checksum_algorithm = "fnv1a64";
  const std::string path = dir / "huge.psmodel";
  torch::nn::Module no_weights;
  write_network_archive(path, json_text(to_json(metadata)), no_weights);
  EXPECT_EQ(expect_model_error(path), path + ": input size must be at most 1024 px, got 2048");
  EXPECT_THROW(create_model({"small-cnn", 2048, 1, 1}), UsageError);
}

// The fuzzer's finding (README, "Fuzzing"): a mutated model file whose pickle
// declares a 4 GB string made LibTorch's reader take 8.5 GB before it failed.
// Refused now from the lengths alone, before LibTorch reads the file.
TEST(ModelFileIntegrity, APickleLengthPastTheFileIsRefusedBeforeLibTorchReadsIt) {
  test::TempDir dir;
  const std::string path = dir / "mutated.psmodel";
  std::string bytes = saved_small_model(4, path);
  // BINUNICODE, its 4-byte length (19), the key: data.pkl's last key, as in the finding.
  const size_t at = bytes.find(std::string("X\x13\x00\x00\x00", 5) + "pneumoscan_checksum");
  ASSERT_NE(at, std::string::npos);
  for (int i = 1; i <= 4; ++i) bytes[at + i] = '\xff';
  write_file_atomically(path, bytes);
  const std::string message = expect_model_error(path);
  EXPECT_EQ(message.rfind(path + ": damaged model file (record '", 0), 0u) << message;
  EXPECT_NE(message.find("claims 4294967295 bytes"), std::string::npos) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
}

// The fuzzer's second finding: one byte changed in the code record LibTorch
// writes beside the data (`__parameters__` -> `__parXmeters__`) made LibTorch's
// loader die with SIGSEGV while compiling it. Model files are read as data
// now (models/torch_archive.h): their code is never compiled, so the file loads.
TEST(ModelFileIntegrity, ItsCodeRecordIsNeverCompiled) {
  test::TempDir dir;
  const std::string path = dir / "code.psmodel";
  std::string bytes = saved_small_model(6, path);
  const size_t at = bytes.find("__parameters__ = []");
  ASSERT_NE(at, std::string::npos) << "LibTorch wrote its code record packed: nothing to change in place";
  bytes[at + 5] = 'X';
  write_file_atomically(path, bytes);
  const LoadedModel model = load_model(path);
  EXPECT_EQ(model.metadata.name, small_metadata().name);
  EXPECT_TRUE(model.integrity_warning.empty()) << model.integrity_warning;
}

// The fuzzer's third model-file finding: two weight records of different sizes
// with their contents swapped. The records' sizes, as a set, still matched
// what the weights claim, and hashing the larger weight read past the smaller
// record (ASan: heap-buffer-overflow; silently, a checksum mismatch). Each
// storage is now its own record at the record's size.
TEST(ModelFileIntegrity, WeightRecordsSwappedAreRefusedBeforeAnyIsReadPastItsEnd) {
  test::TempDir dir;
  const std::string path = saved_model(dir);
  const std::string large = largest_record(path);
  std::string small;
  {
    caffe2::serialize::PyTorchStreamReader reader(path);
    size_t small_size = SIZE_MAX;
    for (const std::string& name : reader.getAllRecords()) {
      if (name.rfind("data/", 0) != 0) continue;
      const size_t size = std::get<1>(reader.getRecord(name));
      if (size < small_size) small = name, small_size = size;
    }
  }
  std::string large_bytes, small_bytes;
  rewrite_archive(path, dir / "copy.psmodel", [&](const std::string& name, std::string& data) {
    if (name == large) large_bytes = data;
    if (name == small) small_bytes = data;
    return true;
  });
  ASSERT_LT(small_bytes.size(), large_bytes.size());
  const std::string swapped = dir / "swapped.psmodel";
  rewrite_archive(path, swapped, [&](const std::string& name, std::string& data) {
    if (name == large) data = small_bytes;
    if (name == small) data = large_bytes;
    return true;
  });
  const std::string message = expect_model_error(swapped);
  EXPECT_EQ(message.rfind(swapped + ": damaged model file: '", 0), 0u) << message;
  EXPECT_NE(message.find(" bytes, the file holds " + std::to_string(small_bytes.size())), std::string::npos)
      << message;
}
