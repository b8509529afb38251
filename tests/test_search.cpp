// Tests of src/search: embeddings (unit vectors, the same through the data
// loader and the predictor), the model fingerprint, the case index (round
// trip for every kind, exact search, patient exclusion, corrupt files, model
// mismatch, an ensemble member's index), k-NN accuracy, and the index /
// similar / predict --similar CLI.
#include <torch/torch.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/atomic_file.h"
#include "core/errors.h"
#include "core/hash.h"
#include "data/sample.h"
#include "ensemble_support.h"
#include "file_size_limit.h"
#include "infer/predictor.h"
#include "model_file/model_file.h"
#include "search/case_index.h"
#include "search/embedding.h"
#include "search/similar_cases.h"
#include "test_support.h"

using namespace pneumoscan;

namespace {
using test::CommandResult;
using test::run_cli;

// A random small-cnn at 64 px saved as a model file: embeddings need no training.
std::string random_model(const test::TempDir& dir, const std::string& name, uint64_t seed) {
  torch::manual_seed(seed);
  ModelMetadata metadata;
  metadata.name = name;
  metadata.spec = complete_spec({"small-cnn", 64, 1, 1});
  metadata.preprocess.input_size = 64;
  Classifier net = create_model(metadata.spec);
  const std::string path = dir / (name + ".psmodel");
  save_model(path, metadata, *net);
  return path;
}

// Eight real X-rays: two of patient person1000, three more pneumonia and three
// normal patients, as a manifest with absolute paths. Empty when ../shared is absent.
std::vector<Sample> real_samples(const std::string& root) {
  const char* const names[] = {"PNEUMONIA/person1000_bacteria_2931.jpeg",
                               "PNEUMONIA/person1000_virus_1681.jpeg",
                               "PNEUMONIA/person1001_bacteria_2932.jpeg",
                               "PNEUMONIA/person1002_bacteria_2933.jpeg",
                               "PNEUMONIA/person1004_virus_1686.jpeg",
                               "NORMAL/IM-0115-0001.jpeg",
                               "NORMAL/IM-0117-0001.jpeg",
                               "NORMAL/IM-0119-0001.jpeg"};
  std::vector<Sample> samples;
  for (const char* name : names) {
    Sample s;
    s.path = root + "/train/" + name;
    s.label = label_from_name(std::string(name).substr(0, std::string(name).find('/')));
    s.patient = patient_from_filename(s.path);
    samples.push_back(s);
  }
  return samples;
}

CaseIndex build_index(Predictor& predictor, const std::vector<Sample>& samples, IndexKind kind) {
  const DatasetEmbeddings embedded = embed_dataset(predictor, samples, {3});
  std::vector<IndexedCase> cases;
  for (const Sample& s : embedded.samples) cases.push_back({s.path, s.label, s.patient});
  return CaseIndex(embedded.embeddings, cases, kind, model_identity(predictor));
}

}  // namespace

TEST(SearchEmbedding, UnitVectorsAndTheSameThroughLoaderAndPredictor) {
  PNEUMOSCAN_REQUIRE_SHARED(root, "data/chest_xray");
  test::TempDir dir;
  Predictor predictor(random_model(dir, "m", 1), {c10::Device(c10::kCPU), /*with_fingerprint=*/true});
  const std::vector<Sample> samples = real_samples(root);
  const DatasetEmbeddings embedded = embed_dataset(predictor, samples, {3});
  ASSERT_TRUE(embedded.failures.empty());
  ASSERT_EQ(embedded.embeddings.size(0), 8);
  EXPECT_EQ(embedded.embeddings.size(1), 256);  // small-cnn's last feature map has 256 channels
  EXPECT_TRUE(torch::allclose(embedded.embeddings.norm(2, 1), torch::ones({8}), 1e-5, 1e-5));
  // One image through the predictor's preprocessing gives the batched loader's vector.
  for (int64_t i : {0, 5}) {
    const torch::Tensor single = embed_images(predictor, {decode_image(samples[i].path)});
    EXPECT_TRUE(torch::allclose(single[0], embedded.embeddings[i], 1e-4, 1e-5)) << samples[i].path;
  }
  // Different images, different embeddings.
  EXPECT_LT((embedded.embeddings[0] * embedded.embeddings[5]).sum().item<double>(), 0.99999);
}

TEST(SearchEmbedding, FingerprintFollowsWeightsAndPreprocessingNotLayout) {
  test::TempDir dir;
  const std::string path = random_model(dir, "m", 1);
  LoadedModel a = load_model(path), b = load_model(path);
  const std::string fingerprint = model_fingerprint(a.metadata, *a.net);
  EXPECT_EQ(fingerprint.size(), 16u);
  to_channels_last(*b.net);
  EXPECT_EQ(model_fingerprint(b.metadata, *b.net), fingerprint);
  b.metadata.preprocess.normalization = Normalization::kEqualizeZScore;
  EXPECT_NE(model_fingerprint(b.metadata, *b.net), fingerprint);
  {
    torch::NoGradGuard no_grad;
    a.net->parameters().front()[0].view({-1})[0] += 1e-3;
  }
  EXPECT_NE(model_fingerprint(a.metadata, *a.net), fingerprint);
  EXPECT_NE(model_fingerprint(a.metadata, *load_model(random_model(dir, "other", 2)).net), fingerprint);
}

TEST(SearchIndex, KindNames) {
  for (IndexKind kind : {IndexKind::kFlat, IndexKind::kHnsw, IndexKind::kIvf})
    EXPECT_EQ(index_kind_from_string(to_string(kind)), kind);
  EXPECT_THROW(index_kind_from_string("lsh"), UsageError);
}

TEST(SearchIndex, RoundTripExactSelfMatchAndPatientExclusion) {
  PNEUMOSCAN_REQUIRE_SHARED(root, "data/chest_xray");
  test::TempDir dir;
  Predictor predictor(random_model(dir, "m", 1), {c10::Device(c10::kCPU), /*with_fingerprint=*/true});
  const std::vector<Sample> samples = real_samples(root);
  for (IndexKind kind : {IndexKind::kFlat, IndexKind::kHnsw, IndexKind::kIvf}) {
    const std::string what = to_string(kind);
    const CaseIndex built = build_index(predictor, samples, kind);
    const std::string path = dir / (what + ".psindex");
    built.save(path);
    const CaseIndex loaded = CaseIndex::load(path);
    EXPECT_EQ(loaded.size(), 8u) << what;
    EXPECT_EQ(loaded.dimension(), 256) << what;
    EXPECT_EQ(loaded.kind(), kind) << what;
    EXPECT_EQ(loaded.model().fingerprint, built.model().fingerprint) << what;
    EXPECT_EQ(loaded.model().name, "m") << what;
    EXPECT_EQ(loaded.cases()[1].patient, "person1000") << what;
    EXPECT_EQ(loaded.cases()[5].label, kNormal) << what;

    for (size_t q = 0; q < samples.size(); ++q) {
      const Image image = decode_image(samples[q].path);
      const torch::Tensor query = embed_images(predictor, {image})[0];
      const std::vector<SimilarCase> before = built.search(query, 8), after = loaded.search(query, 8);
      ASSERT_EQ(before.size(), after.size()) << what;
      for (size_t i = 0; i < before.size(); ++i) {
        EXPECT_EQ(before[i].id, after[i].id) << what;
        EXPECT_NEAR(before[i].similarity, after[i].similarity, 1e-6) << what;
      }
      if (kind == IndexKind::kFlat) {
        // Exact search finds the query image itself first, at similarity 1.
        ASSERT_EQ(before.size(), 8u);
        EXPECT_EQ(before.front().item.path, samples[q].path);
        EXPECT_NEAR(before.front().similarity, 1.0, 1e-4);
        EXPECT_NEAR(before.front().distance, 0.0, 2e-2);
        for (size_t i = 1; i < before.size(); ++i) EXPECT_LE(before[i].similarity, before[i - 1].similarity);
      }
      // Excluding the query's file and patient.
      const std::vector<SimilarCase> others = loaded.search(query, 8, exclusion_for(samples[q].path, image));
      const size_t same_patient = samples[q].patient == "person1000" ? 2 : 1;
      EXPECT_EQ(others.size(), 8 - same_patient) << what << " " << samples[q].path;
      for (const SimilarCase& c : others) {
        EXPECT_NE(c.item.patient, samples[q].patient) << what;
        EXPECT_NE(c.item.path, samples[q].path) << what;
      }
    }
  }
}

TEST(SearchIndex, RefusesCorruptFilesNamingThem) {
  PNEUMOSCAN_REQUIRE_SHARED(root, "data/chest_xray");
  test::TempDir dir;
  const std::string model = random_model(dir, "m", 1);
  Predictor predictor(model, {c10::Device(c10::kCPU), /*with_fingerprint=*/true});
  const std::string good = dir / "good.psindex";
  build_index(predictor, real_samples(root), IndexKind::kFlat).save(good);
  const std::string bytes = read_file(good);

  const auto expect_input_error = [&](const std::string& name, const std::string& content) {
    const std::string path = dir / name;
    write_file_atomically(path, content);
    try {
      CaseIndex::load(path);
      ADD_FAILURE() << name << " was accepted";
    } catch (const InputError& e) {
      EXPECT_EQ(std::string(e.what()).rfind(path + ": ", 0), 0u) << e.what();
    }
  };
  expect_input_error("empty.psindex", "");
  expect_input_error("model.psindex", read_file(model));  // a model file is not an index
  expect_input_error("truncated.psindex", bytes.substr(0, bytes.size() / 2));
  expect_input_error("short_header.psindex", bytes.substr(0, 30));
  std::string flipped = bytes;
  flipped[bytes.size() - 100] ^= 0x10;  // a bit of the vectors
  expect_input_error("flipped.psindex", flipped);
  std::string bad_json = bytes;
  bad_json[bytes.find("\"cases\"")] = '#';
  expect_input_error("json.psindex", bad_json);
  expect_input_error("trailing.psindex", bytes + "x");
  EXPECT_THROW(CaseIndex::load(dir / "missing.psindex"), IoError);

  // The CLI prints one line naming the file and exits 1.
  const CommandResult result = run_cli("similar --model " + model + " --index " +
                                       (dir / "truncated.psindex") + " " + real_samples(root)[0].path);
  EXPECT_EQ(result.exit_code, 1) << result.output;
  EXPECT_EQ(result.output.rfind("error: " + (dir / "truncated.psindex") + ": ", 0), 0u) << result.output;
  EXPECT_EQ(std::count(result.output.begin(), result.output.end(), '\n'), 1) << result.output;
}

TEST(SearchIndex, RefusesAnotherModel) {
  PNEUMOSCAN_REQUIRE_SHARED(root, "data/chest_xray");
  test::TempDir dir;
  const std::string model = random_model(dir, "m", 1), other = random_model(dir, "other", 2);
  Predictor predictor(model, {c10::Device(c10::kCPU), /*with_fingerprint=*/true}),
      other_predictor(other, {c10::Device(c10::kCPU), /*with_fingerprint=*/true});
  const std::string index = dir / "m.psindex";
  build_index(predictor, real_samples(root), IndexKind::kFlat).save(index);
  EXPECT_NO_THROW(CaseFinder(index, predictor, model));
  EXPECT_THROW(CaseFinder(index, other_predictor, other), ModelFileError);

  const std::string xray = real_samples(root)[2].path;
  for (const std::string command : {"similar --model " + other + " --index " + index + " " + xray,
                                    "predict --model " + other + " --similar " + index + " " + xray}) {
    const CommandResult result = run_cli(command);
    EXPECT_EQ(result.exit_code, 1) << command << "\n" << result.output;
    EXPECT_EQ(result.output.rfind("error: " + index + ": built with a different model", 0), 0u)
        << result.output;
    EXPECT_EQ(std::count(result.output.begin(), result.output.end(), '\n'), 1) << result.output;
  }
}

TEST(SearchIndex, FullFileSystemKeepsThePreviousIndex) {
  test::TempDir dir;
  const std::string path = dir / "cases.psindex";
  const torch::Tensor embeddings = torch::nn::functional::normalize(
      torch::randn({64, 32}), torch::nn::functional::NormalizeFuncOptions().dim(1));
  std::vector<IndexedCase> cases;
  for (int i = 0; i < 64; ++i) cases.push_back({"case" + std::to_string(i), i % 2, "p" + std::to_string(i)});
  CaseIndex(embeddings.slice(0, 0, 8), std::vector<IndexedCase>(cases.begin(), cases.begin() + 8),
            IndexKind::kFlat, {"f", "m", "small-cnn"})
      .save(path);
  const std::string previous = read_file(path);
  try {
    const test::FileSizeLimit limit(previous.size() + 1024);
    CaseIndex(embeddings, cases, IndexKind::kFlat, {"f", "m", "small-cnn"}).save(path);
    FAIL() << "an index larger than the file size limit was written";
  } catch (const IoError& e) {
    EXPECT_EQ(std::string(e.what()).rfind(path + ": write failed: ", 0), 0u) << e.what();
  }
  EXPECT_EQ(read_file(path), previous);
  EXPECT_EQ(test::file_names(dir.path), std::vector<std::string>{"cases.psindex"});
  EXPECT_EQ(CaseIndex::load(path).size(), 8u);
}

// A case index file taken apart and put together again, checksum recomputed:
// what a crafted file can say.
struct IndexFileParts {
  nlohmann::json header;
  std::string data;

  static uint64_t length_at(const std::string& bytes, size_t pos) {
    uint64_t length = 0;
    for (int i = 0; i < 8; ++i) length |= uint64_t(static_cast<unsigned char>(bytes[pos + i])) << (8 * i);
    return length;
  }
  static std::string length_bytes(uint64_t length) {
    std::string bytes;
    for (int i = 0; i < 8; ++i) bytes.push_back(static_cast<char>((length >> (8 * i)) & 0xff));
    return bytes;
  }
  explicit IndexFileParts(const std::string& bytes) {
    const size_t header_at = bytes.find('\n') + 1 + 8;
    const uint64_t header_length = length_at(bytes, header_at - 8);
    header = nlohmann::json::parse(bytes.substr(header_at, header_length));
    data = bytes.substr(header_at + header_length + 8);
  }
  std::string bytes() const {
    nlohmann::json h = header;
    h["data_checksum"] = hex64(fnv1a64(data.data(), data.size()));
    const std::string text = h.dump();
    return "PNEUMOSCAN-CASE-INDEX 1\n" + length_bytes(text.size()) + text + length_bytes(data.size()) + data;
  }
};

CaseIndex small_index(IndexKind kind, int64_t n = 200, int64_t d = 16) {
  torch::manual_seed(3);
  const torch::Tensor embeddings = torch::nn::functional::normalize(
      torch::randn({n, d}), torch::nn::functional::NormalizeFuncOptions().dim(1));
  std::vector<IndexedCase> cases;
  for (int64_t i = 0; i < n; ++i)
    cases.push_back({"case" + std::to_string(i), int(i % 2), "p" + std::to_string(i)});
  return CaseIndex(embeddings, cases, kind, {"f", "m", "small-cnn"});
}

// Formats 1 and 2 stored FAISS's own serialisation, which FAISS's reader
// trusts (fuzz/fuzz_case_index: a size field in it asked for 128 GB): they are
// refused by name, with the command that rebuilds them, and never parsed.
TEST(SearchIndex, OlderFormatsAreRefusedWithTheCommandThatRebuildsThem) {
  test::TempDir dir;
  const std::string path = dir / "cases.psindex";
  small_index(IndexKind::kHnsw).save(path);
  for (int version : {1, 2}) {
    IndexFileParts parts(read_file(path));
    parts.header["format_version"] = version;
    write_file_atomically(dir / "old.psindex", parts.bytes());
    try {
      CaseIndex::load(dir / "old.psindex");
      ADD_FAILURE() << "a format " << version << " case index loaded";
    } catch (const ModelFileError& e) {
      EXPECT_EQ(std::string(e.what()),
                dir / "old.psindex" + ": case index format " + std::to_string(version) +
                    " is no longer read (its search structure could not be checked before use); rebuild it "
                    "with `pneumoscan index build`");
    }
  }
}

// What the checksum cannot stop: a file made to pass it. Every size,
// parameter and graph edge is checked before FAISS gets the structure.
TEST(SearchIndex, CraftedIndexWithAValidChecksumIsRefusedNotSearched) {
  test::TempDir dir;
  const std::string path = dir / "crafted.psindex";
  const auto expect_refused = [&](const IndexFileParts& parts, const std::string& reason) {
    write_file_atomically(path, parts.bytes());
    try {
      const CaseIndex index = CaseIndex::load(path);
      ADD_FAILURE() << "accepted; expected: " << reason;
    } catch (const InputError& e) {
      EXPECT_EQ(std::string(e.what()).rfind(path + ": corrupt case index", 0), 0u) << e.what();
      EXPECT_NE(std::string(e.what()).find(reason), std::string::npos) << e.what();
      EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
    }
  };
  const auto set_int32 = [](std::string& data, size_t at, int32_t value) {
    std::memcpy(&data[at], &value, sizeof value);
  };
  const size_t n = 200, d = 16, vectors = n * d * sizeof(float);

  const std::string hnsw_path = dir / "hnsw.psindex";
  const CaseIndex built_hnsw = small_index(IndexKind::kHnsw);
  built_hnsw.save(hnsw_path);
  const IndexFileParts hnsw(read_file(hnsw_path));
  {
    IndexFileParts parts = hnsw;  // a neighbour past the end
    set_int32(parts.data, vectors + n * 4, static_cast<int32_t>(n));
    expect_refused(parts, "lists 200 as a neighbour on layer 0");
  }
  {
    IndexFileParts parts = hnsw;  // a neighbour on a layer it does not reach
    std::vector<int32_t> levels(n);
    std::memcpy(levels.data(), &parts.data[vectors], n * 4);
    const size_t low = std::find(levels.begin(), levels.end(), 1) - levels.begin();
    const size_t high =
        std::find_if(levels.begin(), levels.end(), [](int32_t l) { return l >= 2; }) - levels.begin();
    ASSERT_LT(low, n);
    ASSERT_LT(high, n);
    size_t slot = 0;  // node `high`'s first slot on layer 1: after the slots of the nodes before it
    for (size_t i = 0; i < high; ++i) slot += levels[i] == 1 ? 64 : 64 + 32 * (levels[i] - 1);
    set_int32(parts.data, vectors + n * 4 + (slot + 64) * 4, static_cast<int32_t>(low));
    expect_refused(parts, "lists " + std::to_string(low) + " as a neighbour on layer 1");
  }
  {
    IndexFileParts parts = hnsw;  // a node on more layers than there are
    set_int32(parts.data, vectors, 1000);
    expect_refused(parts, "node 0 has 1000 layers");
  }
  {
    IndexFileParts parts = hnsw;
    parts.header["params"]["entry_point"] = 5000;
    expect_refused(parts, "'entry_point' is 5000, outside 0..199");
  }
  {
    IndexFileParts parts = hnsw;
    parts.header["params"]["max_level"] = 0;
    expect_refused(parts, "is not on the top layer");
  }
  {
    IndexFileParts parts = hnsw;
    parts.header["params"]["ef_search"] = -1;
    expect_refused(parts, "'ef_search' is -1");
  }
  {
    IndexFileParts parts = hnsw;
    parts.data.resize(vectors + 10);
    expect_refused(parts, "its data ends inside the HNSW levels");
  }

  const std::string ivf_path = dir / "ivf.psindex";
  const CaseIndex built_ivf = small_index(IndexKind::kIvf);
  built_ivf.save(ivf_path);
  const IndexFileParts ivf(read_file(ivf_path));
  {
    IndexFileParts parts = ivf;
    parts.header["params"]["cells"] = 1 << 30;
    expect_refused(parts, "'cells' is 1073741824, outside 1..200");
  }
  {
    IndexFileParts parts = ivf;
    parts.header["params"]["probes"] = 0;
    expect_refused(parts, "'probes' is 0");
  }
  {
    IndexFileParts parts = ivf;
    parts.data += std::string(64, '\0');
    expect_refused(parts, "trailing bytes in its data");
  }

  const std::string flat_path = dir / "flat.psindex";
  const CaseIndex built_flat = small_index(IndexKind::kFlat);
  built_flat.save(flat_path);
  const IndexFileParts flat(read_file(flat_path));
  {
    IndexFileParts parts = flat;
    parts.header["dimension"] = 1 << 20;
    expect_refused(parts, "dimension 1048576 outside 1..65536");
  }
  {
    IndexFileParts parts = flat;
    parts.header["dimension"] = 17;
    expect_refused(parts, "its data ends inside the vectors");
  }
  // What was built loads and finds each case itself first.
  const std::vector<std::pair<std::string, const CaseIndex*>> saved = {
      {hnsw_path, &built_hnsw}, {ivf_path, &built_ivf}, {flat_path, &built_flat}};
  for (const auto& [good, original_index] : saved) {
    const CaseIndex index = CaseIndex::load(good);
    const CaseIndex& original = *original_index;
    torch::manual_seed(3);
    const torch::Tensor embeddings = torch::nn::functional::normalize(
        torch::randn({200, 16}), torch::nn::functional::NormalizeFuncOptions().dim(1));
    for (int64_t q = 0; q < 200; q += 37) {
      const auto loaded = index.search(embeddings[q], 5), built = original.search(embeddings[q], 5);
      ASSERT_EQ(loaded.size(), built.size()) << good;
      for (size_t i = 0; i < loaded.size(); ++i)
        EXPECT_EQ(loaded[i].id, built[i].id) << good << " query " << q;
      EXPECT_EQ(loaded.front().id, q) << good;
    }
  }
}

TEST(SearchKnn, MajorityVoteWithPatientExclusion) {
  // Unit vectors at angles (degrees): two clusters, labels by cluster, one
  // mislabelled point near cluster 0 from patient "odd".
  const std::vector<double> angles = {0, 5, 10, 15, 90, 95, 100, 12};
  const std::vector<int> labels = {0, 0, 0, 0, 1, 1, 1, 1};
  torch::Tensor x = torch::empty({8, 2});
  std::vector<IndexedCase> cases;
  for (int i = 0; i < 8; ++i) {
    x[i][0] = std::cos(angles[i] * M_PI / 180);
    x[i][1] = std::sin(angles[i] * M_PI / 180);
    cases.push_back({"case" + std::to_string(i), labels[i], i == 7 ? "odd" : "p" + std::to_string(i)});
  }
  const CaseIndex index(x, cases, IndexKind::kFlat, {"f", "m", "small-cnn"});
  // Queries: at 11 degrees (normal; its nearest is the odd pneumonia case) and
  // at 92 degrees (pneumonia), and one query from patient "odd" itself.
  torch::Tensor queries = torch::empty({3, 2});
  const double query_angles[] = {11, 92, 11};
  for (int i = 0; i < 3; ++i) {
    queries[i][0] = std::cos(query_angles[i] * M_PI / 180);
    queries[i][1] = std::sin(query_angles[i] * M_PI / 180);
  }
  std::vector<Sample> samples(3);
  samples[0] = {"q0", kNormal, "q0", ""};
  samples[1] = {"q1", kPneumonia, "q1", ""};
  samples[2] = {"q2", kNormal, "odd", ""};  // its patient's case is left out: nearest is then normal
  const std::vector<KnnAccuracy> result = knn_accuracy(index, queries, samples, {1, 3});
  ASSERT_EQ(result.size(), 2u);
  EXPECT_EQ(result[0].k, 1);
  EXPECT_EQ(result[0].total, 3);
  EXPECT_EQ(result[0].correct, 2);  // q0 is wrong at k = 1
  EXPECT_EQ(result[1].correct, 3);  // and right by majority at k = 3
  EXPECT_NEAR(result[1].accuracy(), 1.0, 1e-12);
}

TEST(SearchCli, BuildSimilarJsonKnnAndPredict) {
  PNEUMOSCAN_REQUIRE_SHARED(root, "data/chest_xray");
  test::TempDir dir;
  const std::string model = random_model(dir, "m", 1);
  const std::vector<Sample> samples = real_samples(root);
  const std::string manifest = dir / "cases.csv";
  write_manifest(manifest, samples);
  const std::string index = dir / "cases.psindex";

  const CommandResult built =
      run_cli("index build --model " + model + " --data " + manifest + " --out " + index);
  ASSERT_EQ(built.exit_code, 0) << built.output;
  EXPECT_NE(built.output.find("indexed 8 images (0 skipped), dimension 256, kind flat"), std::string::npos)
      << built.output;
  EXPECT_NE(built.output.find("build time"), std::string::npos) << built.output;
  EXPECT_EQ(run_cli("index build --model " + model + " --data " + manifest + " --out x --kind lsh").exit_code,
            1);

  const CommandResult similar =
      run_cli("similar --json --model " + model + " --index " + index + " -k 3 " + samples[0].path);
  ASSERT_EQ(similar.exit_code, 0) << similar.output;
  const auto parsed = nlohmann::json::parse(similar.output);
  const auto& found = parsed.at("results").at(0).at("similar");
  ASSERT_EQ(found.size(), 3u);
  for (const auto& c : found) {
    EXPECT_NE(c.at("patient"), "person1000");
    EXPECT_TRUE(c.at("label") == "NORMAL" || c.at("label") == "PNEUMONIA");
    EXPECT_LE(c.at("similarity").get<double>(), 1.0 + 1e-6);
  }
  EXPECT_GE(found[0].at("similarity").get<double>(), found[2].at("similarity").get<double>());

  const CommandResult text =
      run_cli("similar --model " + model + " --index " + index + " -k 2 " + samples[5].path);
  ASSERT_EQ(text.exit_code, 0) << text.output;
  EXPECT_NE(text.output.find("  1. similarity="), std::string::npos) << text.output;
  EXPECT_EQ(text.output.find("IM-0115-0001"), text.output.rfind("IM-0115-0001"))
      << "query listed as its own case";

  const CommandResult knn =
      run_cli("index knn --model " + model + " --index " + index + " --data " + manifest + " -k 1,3");
  ASSERT_EQ(knn.exit_code, 0) << knn.output;
  EXPECT_NE(knn.output.find("k=1   accuracy"), std::string::npos) << knn.output;
  EXPECT_NE(knn.output.find("k=3   accuracy"), std::string::npos) << knn.output;
  EXPECT_NE(knn.output.find("/8)"), std::string::npos) << knn.output;

  const CommandResult predicted =
      run_cli("predict --json --model " + model + " --similar " + index + " -k 2 " + samples[3].path);
  ASSERT_EQ(predicted.exit_code, 0) << predicted.output;
  const auto p = nlohmann::json::parse(predicted.output).at("predictions").at(0);
  EXPECT_EQ(p.at("similar").size(), 2u);
  EXPECT_NE(p.at("similar").at(0).at("path"), samples[3].path);
  const CommandResult predicted_text =
      run_cli("predict --model " + model + " --similar " + index + " -k 2 " + samples[3].path);
  EXPECT_NE(predicted_text.output.find("  similar 2. similarity="), std::string::npos)
      << predicted_text.output;
}

// An index built on one member of an ensemble: its embeddings are that
// member's own features, the file records the member, and every query
// (CaseFinder: similar, predict --similar, serve; index knn) is embedded by
// the same member. Format 3 files, written before members, read as the whole model.
TEST(SearchIndex, MemberIndexEmbedsQueriesWithThatMember) {
  test::TempDir dir;
  const std::vector<LoadedModel> members = test::random_small_cnn_members(20);
  const std::string model = dir / "pair.psmodel";
  test::save_pair_ensemble(members, model);
  // Six textured pictures in class folders.
  std::vector<Sample> samples;
  for (int i = 0; i < 6; ++i) {
    const std::string cls = i < 3 ? "NORMAL" : "PNEUMONIA";
    std::filesystem::create_directories(dir / ("data/" + cls));
    cv::Mat picture(80, 80, CV_8UC1);
    cv::randu(picture, 0, 256);
    cv::GaussianBlur(picture, picture, cv::Size(0, 0), 1 + i);
    Sample s;
    s.path = dir / ("data/" + cls + "/p" + std::to_string(i) + ".png");
    ASSERT_TRUE(cv::imwrite(s.path, picture));
    s.label = i < 3 ? kNormal : kPneumonia;
    samples.push_back(s);
  }

  Predictor predictor(model, {c10::Device(c10::kCPU), /*with_fingerprint=*/true});
  const DatasetEmbeddings whole = embed_dataset(predictor, samples, {3});
  const DatasetEmbeddings one = embed_dataset(predictor, samples, {3, 0, /*member=*/1});
  ASSERT_EQ(one.embeddings.size(0), 6);
  EXPECT_EQ(whole.embeddings.size(1), 512);  // both members' 256 channels side by side
  EXPECT_EQ(one.embeddings.size(1), 256);
  const Image first = decode_image(samples[0].path);
  const torch::Tensor expected = embed_batch(*members[1].net, predictor.input_batch({first}));
  EXPECT_TRUE(torch::allclose(one.embeddings[0], expected[0], 1e-4, 1e-5));
  EXPECT_THROW(embed_dataset(predictor, samples, {3, 0, /*member=*/2}), UsageError);

  std::vector<IndexedCase> cases;
  for (const Sample& s : one.samples) cases.push_back({s.path, s.label, ""});
  const std::string index = dir / "member1.psindex";
  CaseIndex(one.embeddings, cases, IndexKind::kFlat, model_identity(predictor, 1)).save(index);
  EXPECT_EQ(CaseIndex::load(index).model().member, 1);
  CaseFinder finder(index, predictor, model);
  const std::vector<SimilarCase> found = finder.find(decode_image(samples[4].path), "elsewhere.png", 1);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].item.path, samples[4].path);
  EXPECT_NEAR(found[0].similarity, 1.0, 1e-4);

  // A member the model lacks is refused naming the index; a format 3 file is the whole model.
  IndexFileParts parts(read_file(index));
  parts.header["model"]["member"] = 5;
  write_file_atomically(dir / "bad.psindex", parts.bytes());
  try {
    CaseFinder bad(dir / "bad.psindex", predictor, model);
    ADD_FAILURE() << "an index naming member 5 of a 2-member ensemble was opened";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()).rfind(dir / "bad.psindex" + ": ", 0), 0u) << e.what();
    EXPECT_NE(std::string(e.what()).find("no member 5"), std::string::npos) << e.what();
  }
  parts.header["model"].erase("member");
  parts.header["format_version"] = 3;
  write_file_atomically(dir / "v3.psindex", parts.bytes());
  EXPECT_EQ(CaseIndex::load(dir / "v3.psindex").model().member, -1);

  // The command line: --member builds it, knn and similar follow it, a missing member is refused.
  const std::string data = dir / "data";
  const CommandResult built = run_cli("index build --model " + model + " --data " + data +
                                      " --member 0 --out " + (dir / "cli.psindex"));
  ASSERT_EQ(built.exit_code, 0) << built.output;
  EXPECT_NE(built.output.find("dimension 256, kind flat, model pair, member 0"), std::string::npos)
      << built.output;
  const CommandResult knn = run_cli("index knn --model " + model + " --index " + (dir / "cli.psindex") +
                                    " --data " + data + " -k 1");
  EXPECT_EQ(knn.exit_code, 0) << knn.output;
  const CommandResult similar =
      run_cli("similar --model " + model + " --index " + (dir / "cli.psindex") + " -k 1 " + samples[2].path);
  EXPECT_EQ(similar.exit_code, 0) << similar.output;
  const CommandResult missing = run_cli("index build --model " + model + " --data " + data +
                                        " --member 2 --out " + (dir / "x.psindex"));
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.output.find("no member 2 (members 0-1)"), std::string::npos) << missing.output;
  EXPECT_FALSE(std::filesystem::exists(dir / "x.psindex"));
}
