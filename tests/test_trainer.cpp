// Tests of src/train/trainer. Integration: train the seed's small CNN briefly
// on real X-rays, check that it learns, that the model file is complete, that
// resume continues, and that frozen features stay frozen until unfrozen.
// Crash safety: a full disk never damages the last checkpoint, and a run
// killed with SIGKILL at random moments and resumed ends with the same
// weights, bit for bit, as a run never interrupted.
#include <signal.h>
#include <sys/wait.h>
#include <torch/torch.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <random>
#include <thread>

#include "core/atomic_file.h"
#include "core/errors.h"
#include "data/sample.h"
#include "eval/evaluate.h"
#include "file_size_limit.h"
#include "generative_support.h"
#include "model_file/archive.h"
#include "model_file/model_file.h"
#include "models/state_dict.h"
#include "test_support.h"
#include "train/checkpoint.h"
#include "training_support.h"

using namespace pneumoscan;

namespace {
TrainConfig quick_config(int epochs, int64_t input_size = 128) {
  return test::quick_config(input_size, epochs, 32, 7);
}
}  // namespace

TEST(Train, SmallCnnOnRealSubsetReachesAuc085) {
  PNEUMOSCAN_REQUIRE_SHARED(root, "data/chest_xray");
  const TrainValSplit split = test::small_real_split(root, 1000, 300, 7);
  test::TempDir dir;
  const std::string model_path = dir / "quick.psmodel";
  const TrainResult result = train_model(split.train, split.val, quick_config(3), model_path);

  EXPECT_GE(result.validation.roc_auc, 0.85);
  EXPECT_GE(result.validation.recall, 0.95 - 1e-9);  // the threshold was chosen for it
  EXPECT_EQ(result.history.size(), 3u);
  EXPECT_TRUE(std::filesystem::exists(log_csv_path(model_path)));
  EXPECT_TRUE(std::filesystem::exists(log_jsonl_path(model_path)));
  EXPECT_TRUE(std::filesystem::exists(checkpoint_path(model_path)));

  // The file carries what is needed to use it; evaluating it on the same
  // validation images reproduces the figures stored at training time.
  LoadedModel model = load_model(model_path);
  EXPECT_NEAR(model.metadata.threshold, result.validation.threshold, 1e-12);
  EXPECT_EQ(model.metadata.training.at("data").at("train_images"), split.train.size());
  const Evaluation evaluation = evaluate_model(model, split.val);
  EXPECT_NEAR(evaluation.metrics.roc_auc, result.validation.roc_auc, 1e-6);
  EXPECT_EQ(evaluation.metrics.tp, result.validation.tp);

  // Resume: continuing to 4 epochs from the checkpoint runs exactly one more.
  const TrainResult resumed = train_model(split.train, split.val, quick_config(4), model_path, true);
  EXPECT_EQ(resumed.history.size(), 4u);
  EXPECT_EQ(resumed.history[0].train_loss, result.history[0].train_loss);
}

namespace {

// One epoch at 64 px on 64 real images; the model and its checkpoint stay in `dir`.
struct OneEpochRun {
  TrainValSplit split;
  test::TempDir dir;
  std::string model_path = dir / "m.psmodel";
  TrainConfig config = quick_config(1, 64);
  explicit OneEpochRun(const std::string& root) : split(test::small_real_split(root, 64, 32, 7)) {
    train_model(split.train, split.val, config, model_path);
  }
};

}  // namespace

TEST(Train, ResumeRefusesOtherSettings) {
  PNEUMOSCAN_REQUIRE_SHARED(root, "data/chest_xray");
  OneEpochRun run(root);
  run.config.epochs = 2;
  run.config.spec.input_size = 96;
  EXPECT_THROW(train_model(run.split.train, run.split.val, run.config, run.model_path, true), UsageError);
}

// Checkpoints are read as data, as model files are (models/torch_archive.h):
// the TorchScript code LibTorch writes into them is never compiled (a changed
// byte in it made LibTorch's compiler crash on model files), and the
// optimiser's state is restored by train/optimizer_state.h.
TEST(Train, ResumeNeverCompilesTheCheckpointsCode) {
  PNEUMOSCAN_REQUIRE_SHARED(root, "data/chest_xray");
  OneEpochRun run(root);
  std::string bytes = read_file(checkpoint_path(run.model_path));
  const size_t at = bytes.find("__parameters__ = [");
  ASSERT_NE(at, std::string::npos) << "LibTorch wrote its code record packed: nothing to change in place";
  bytes[at + 5] = 'X';
  write_file_atomically(checkpoint_path(run.model_path), bytes);
  run.config.epochs = 2;
  const TrainResult resumed = train_model(run.split.train, run.split.val, run.config, run.model_path, true);
  EXPECT_EQ(resumed.history.size(), 2u);
}

// A checkpoint whose progress record (JSON) lacks its fields: one line naming
// the file, not nlohmann's "[json.exception.out_of_range.403]".
TEST(Train, ResumeFromADamagedProgressRecordIsAClearError) {
  PNEUMOSCAN_REQUIRE_SHARED(root, "data/chest_xray");
  OneEpochRun run(root);
  torch::serialize::OutputArchive archive;
  archive.write("state", c10::IValue(std::string("{\"epochs_completed\": 1}")));
  save_archive(archive, checkpoint_path(run.model_path));
  run.config.epochs = 2;
  try {
    train_model(run.split.train, run.split.val, run.config, run.model_path, true);
    FAIL() << "resumed from a checkpoint without its progress";
  } catch (const ModelFileError& e) {
    EXPECT_EQ(std::string(e.what()), checkpoint_path(run.model_path) +
                                         ": damaged checkpoint: its progress record lacks a field or has one "
                                         "of the wrong type");
  }
}

// fuzz/fuzz_checkpoint's second finding (session 18, at 500,801 executions on
// the fixed build): a pickle naming a quantized tensor as a weight; copying it
// into the network threw LibTorch's own text.
TEST(Train, CheckpointWeightsOfAnotherKindAreRefused) {
  c10::Dict<std::string, torch::Tensor> weights;
  weights.insert("fc.weight", torch::quantize_per_tensor(torch::ones({2, 2}), 0.1, 0, torch::kQInt8));
  try {
    from_dict(c10::IValue(weights), "run.ckpt");
    FAIL() << "a quantized weight was accepted";
  } catch (const ModelFileError& e) {
    EXPECT_EQ(std::string(e.what()),
              "run.ckpt: damaged checkpoint: weight 'fc.weight' has type QInt8; checkpoints hold float32 and "
              "int64 only");
  }
  weights.clear();
  weights.insert("fc.weight", torch::ones({2, 2}));
  weights.insert("bn.num_batches_tracked", torch::tensor(int64_t{3}));
  EXPECT_EQ(from_dict(c10::IValue(weights), "run.ckpt").size(), 2u);
}

TEST(Train, RunsAreReproducibleForASeed) {
  PNEUMOSCAN_REQUIRE_SHARED(root, "data/chest_xray");
  const TrainValSplit split = test::small_real_split(root, 96, 32, 3);
  test::TempDir dir;
  TrainConfig config = quick_config(1, 64);
  const TrainResult a = train_model(split.train, split.val, config, dir / "a.psmodel");
  const TrainResult b = train_model(split.train, split.val, config, dir / "b.psmodel");
  EXPECT_DOUBLE_EQ(a.history[0].train_loss, b.history[0].train_loss);
  EXPECT_DOUBLE_EQ(a.history[0].val_loss, b.history[0].val_loss);
}

TEST(Train, ThreeClassesStoreTypesAndReportThem) {
  PNEUMOSCAN_REQUIRE_SHARED(root, "data/chest_xray");
  const TrainValSplit split = test::small_real_split(root, 120, 60, 5);
  test::TempDir dir;
  TrainConfig config = quick_config(1, 64);
  config.class_names = {"normal", "bacterial", "viral"};
  config.label_smoothing = 0.1;
  const std::string model_path = dir / "three.psmodel";
  const TrainResult result = train_model(split.train, split.val, config, model_path);
  EXPECT_EQ(result.val_class_probabilities.size(), 3 * result.val_class_labels.size());

  LoadedModel model = load_model(model_path);
  EXPECT_EQ(model.metadata.class_names, (std::vector<std::string>{"NORMAL", "BACTERIAL", "VIRAL"}));
  EXPECT_EQ(model.metadata.spec.num_outputs, 3);
  EXPECT_TRUE(model.metadata.training.contains("validation_classes"));
  const Evaluation evaluation = evaluate_model(model, split.val);
  ASSERT_TRUE(evaluation.classes.has_value());
  int64_t total = 0;
  for (const auto& row : evaluation.classes->confusion)
    for (int64_t count : row) total += count;
  EXPECT_EQ(total, evaluation.classes->n);
  // The binary report agrees with the K x K one: predicted NORMAL column = tn + fn.
  int64_t predicted_normal = 0;
  for (const auto& row : evaluation.classes->confusion) predicted_normal += row[0];
  EXPECT_EQ(predicted_normal, evaluation.metrics.tn + evaluation.metrics.fn);

  // A pneumonia of unknown type cannot train a typed class list.
  std::vector<Sample> untyped = split.train;
  for (auto& s : untyped) s.pneumonia_type.clear();
  EXPECT_THROW(train_model(untyped, split.val, config, dir / "bad.psmodel"), InputError);
}

namespace {
// The events of a run, by name, with the numbers that tie them together.
struct EventLog : TrainObserver {
  std::vector<std::string> events;
  size_t steps_announced = 0, steps_seen = 0;
  void on_decode_progress(const std::string& what, size_t done, size_t total) override {
    if (done == 0 || done == total) events.push_back("decode " + what + (done == 0 ? " begins" : " ends"));
  }
  void on_decoded(const std::string& what, size_t, const std::vector<std::string>&, double) override {
    events.push_back("decoded " + what);
  }
  void on_train_start(const TrainStart& s) override {
    events.push_back("start " + s.architecture + " " + std::to_string(s.class_weights.size()) + " weights");
  }
  void on_epoch_start(int epoch, int, size_t steps) override {
    events.push_back("epoch " + std::to_string(epoch));
    steps_announced += steps;
  }
  void on_step(const TrainStep& step) override {
    ++steps_seen;
    EXPECT_GT(step.mean_loss, 0);
    EXPECT_GT(step.images, 0);
  }
  void on_validated(const EpochValidation& v) override {
    events.push_back("validated " + std::to_string(v.epoch) + " on " +
                     std::to_string(v.probabilities->size()) + " images");
    EXPECT_NE(v.net, nullptr);
    EXPECT_EQ(v.labels->size(), v.probabilities->size());
    EXPECT_EQ(v.preprocess->input_size, 64);
  }
  void on_epoch_end(const EpochRecord& record, int epochs) override {
    events.push_back("epoch " + std::to_string(record.epoch) + "/" + std::to_string(epochs) + " ends");
  }
  void on_train_end(const TrainEnd& end) override {
    events.push_back("done, best epoch " + std::to_string(end.best_epoch) + " of " +
                     std::to_string(end.epochs_run));
  }
};
}  // namespace

// Training memory does not grow from epoch to epoch. A leak grows on every
// epoch: one 64-px batch per step (16 x 64 x 64 floats, 256 KiB, 8 steps an
// epoch) adds 2 MiB each. The resident set may also take a one-off step of
// ~10 MiB at early epochs (allocator arenas and thread stacks met for the
// first time: seen after epoch 1 or 2 in two of five runs, flat afterwards)
// and, in one run of nine, creep by 1 MiB an epoch (heap fragmentation with
// trimming off, core/runtime.h), so the test asks for a median epoch-to-epoch
// change under 1.5 MiB over epochs 2-8 and a bounded total, not for flatness
// from a fixed epoch.
// Measured alone (as ctest runs each test); after other tests in the same
// process the heap they left behind fragments and it creeps (~1 MiB an epoch).
TEST(Train, MemoryDoesNotGrowAcrossEpochs) {
  PNEUMOSCAN_REQUIRE_SHARED(root, "data/chest_xray");
  const TrainValSplit split = test::small_real_split(root, 128, 32, 11);
  test::TempDir dir;
  struct RssAfterEpoch : TrainObserver {
    std::vector<double> mib;
    void on_epoch_end(const EpochRecord&, int) override {
      long pages = 0, resident = 0;
      if (FILE* f = std::fopen("/proc/self/statm", "r")) {
        if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
        std::fclose(f);
      }
      mib.push_back(static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE)) / (1 << 20));
    }
  } rss;
  TrainConfig config = test::quick_config(64, 8, 16, 11);
  config.early_stopping_patience = 10;  // all 8 epochs
  train_model(split.train, split.val, config, dir / "m.psmodel", false, &rss);
  ASSERT_EQ(rss.mib.size(), 8u);
  ASSERT_GT(rss.mib[0], 0.0) << "no /proc/self/statm";
  std::vector<double> changes;
  for (size_t e = 1; e < rss.mib.size(); ++e) changes.push_back(rss.mib[e] - rss.mib[e - 1]);
  std::nth_element(changes.begin(), changes.begin() + changes.size() / 2, changes.end());
  const std::string figures = ::testing::PrintToString(rss.mib);
  EXPECT_LT(changes[changes.size() / 2], 1.5) << "resident MiB after each epoch: " << figures;
  // The early steps summed to 28 MiB in one run; a gross leak goes far past this.
  EXPECT_LT(rss.mib.back() - rss.mib.front(), 40.0 + 0.05 * rss.mib.front())
      << "resident MiB after each epoch: " << figures;
  std::cout << "[ figures  ] resident MiB after epochs 1-8: " << figures << "\n";
}

// The trainer reports through its observer (and prints nothing itself).
TEST(Train, ObserverSeesTheRunInOrder) {
  PNEUMOSCAN_REQUIRE_SHARED(root, "data/chest_xray");
  const TrainValSplit split = test::small_real_split(root, 64, 32, 9);
  test::TempDir dir;
  EventLog log;
  testing::internal::CaptureStdout();
  const TrainResult result =
      train_model(split.train, split.val, test::quick_config(64, 2, 16, 9), dir / "m.psmodel", false, &log);
  EXPECT_EQ(testing::internal::GetCapturedStdout(), "");
  const std::vector<std::string> expected = {
      "decode train begins",
      "decode train ends",
      "decoded train",
      "decode validation begins",
      "decode validation ends",
      "decoded validation",
      "start small-cnn 2 weights",
      "epoch 1",
      "validated 1 on 32 images",
      "epoch 1/2 ends",
      "epoch 2",
      "validated 2 on 32 images",
      "epoch 2/2 ends",
      "done, best epoch " + std::to_string(result.best_epoch) + " of 2"};
  EXPECT_EQ(log.events, expected);
  EXPECT_EQ(log.steps_seen, log.steps_announced);
  EXPECT_EQ(log.steps_seen, 2u * 4u);  // 64 images in batches of 16, twice
}

// Training with frozen features: the feature weights and (with frozen
// BatchNorm statistics) buffers stay at their initial values while the head
// learns; resuming re-applies the freeze state of the epoch, and unfreezing
// at epoch 2 makes the features train.
TEST(TransferTrain, FrozenFeaturesStayThenUnfreezeAfterResume) {
  PNEUMOSCAN_REQUIRE_SHARED(root, "data/chest_xray");
  const TrainValSplit split = test::small_real_split(root, 48, 24, 11);
  test::TempDir dir;
  const std::string model_path = dir / "frozen.psmodel";
  TrainConfig config = test::quick_config(64, 1, 16, 11);
  config.freeze = "features";
  config.unfreeze_after = 2;
  config.freeze_batchnorm_stats = true;

  torch::manual_seed(config.seed);
  const auto initial = test::copy_of(*create_model(complete_spec(config.spec)));
  auto current_weights = [&] {
    torch::serialize::InputArchive archive;
    archive.load_from(checkpoint_path(model_path));
    c10::IValue value;
    archive.read("weights", value);
    std::map<std::string, torch::Tensor> weights;
    for (const auto& entry : value.toGenericDict())
      weights[entry.key().toStringRef()] = entry.value().toTensor();
    return weights;
  };

  train_model(split.train, split.val, config, model_path);
  auto weights = current_weights();
  for (const auto& [name, tensor] : initial) {
    if (name.rfind("features.", 0) == 0)
      EXPECT_TRUE(torch::equal(weights.at(name), tensor)) << name << " changed in the frozen epoch";
  }
  EXPECT_FALSE(torch::equal(weights.at("classifier.4.weight"), initial.at("classifier.4.weight")));
  const ModelMetadata metadata = read_model_metadata(model_path);
  EXPECT_EQ(metadata.training.at("config").at("freeze"), "features");
  EXPECT_EQ(metadata.training.at("config").at("unfreeze_after"), 2);
  EXPECT_EQ(metadata.training.at("config").at("freeze_batchnorm_stats"), true);

  // Resuming with other freeze settings is refused.
  TrainConfig other = config;
  other.epochs = 2;
  other.unfreeze_after = 0;
  EXPECT_THROW(train_model(split.train, split.val, other, model_path, true), UsageError);

  // Epoch 2 unfreezes: the convolutions train (BatchNorm statistics stay frozen).
  config.epochs = 2;
  const TrainResult resumed = train_model(split.train, split.val, config, model_path, true);
  EXPECT_EQ(resumed.history.size(), 2u);
  weights = current_weights();
  EXPECT_FALSE(torch::equal(weights.at("features.0.weight"), initial.at("features.0.weight")));
  EXPECT_TRUE(torch::equal(weights.at("features.1.running_mean"), initial.at("features.1.running_mean")));
}

TEST(TransferTrain, RejectsInconsistentFreezeSettings) {
  auto message_of = [](const TrainConfig& config) -> std::string {
    try {
      train_model({}, {}, config, "unused.psmodel");
    } catch (const UsageError& e) {
      return e.what();
    }
    return "no error";
  };
  TrainConfig config;
  config.unfreeze_after = 3;  // without a frozen start
  EXPECT_NE(message_of(config).find("unfreeze-after needs"), std::string::npos) << message_of(config);
  config.freeze = "everything";
  EXPECT_NE(message_of(config).find("unknown freeze mode 'everything'"), std::string::npos)
      << message_of(config);
}

TEST(TrainCrash, FullFileSystemKeepsTheLastCheckpointAndModel) {
  test::TempDir dir;
  const std::vector<Sample> train = test::tiny_xrays(dir, 24, "train");
  const std::vector<Sample> val = test::tiny_xrays(dir, 8, "val");
  const std::string model_path = dir / "m.psmodel";
  TrainConfig config = test::quick_config(32, 1, 8, 7);
  train_model(train, val, config, model_path);
  const std::string checkpoint = read_file(checkpoint_path(model_path));
  const std::string model = read_file(model_path);
  config.epochs = 2;
  try {
    const test::FileSizeLimit limit(checkpoint.size() / 2);
    train_model(train, val, config, model_path, true);
    FAIL() << "a checkpoint larger than the file size limit was written";
  } catch (const IoError& e) {
    EXPECT_EQ(std::string(e.what()).rfind(checkpoint_path(model_path) + ": write failed: ", 0), 0u)
        << e.what();
  }
  EXPECT_EQ(read_file(checkpoint_path(model_path)), checkpoint);
  EXPECT_EQ(read_file(model_path), model);
  for (const std::string& name : test::file_names(dir.path))
    EXPECT_EQ(name.find(".tmp-"), std::string::npos) << name << " left behind";
  // The run goes on from the intact checkpoint once there is room.
  EXPECT_EQ(train_model(train, val, config, model_path, true).history.size(), 2u);
}

namespace {

// Starts `pneumoscan ARGS...` (output to `log`); returns its pid.
pid_t spawn_cli(const std::vector<std::string>& args, const std::string& log) {
  std::cout.flush();  // or the child's freopen writes the parent's buffered output again
  std::fflush(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    std::vector<char*> argv;
    std::string program = PNEUMOSCAN_CLI_PATH;
    argv.push_back(program.data());
    std::vector<std::string> copy = args;
    for (std::string& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    if (std::freopen(log.c_str(), "a", stdout) == nullptr || dup2(fileno(stdout), 2) < 0) _exit(126);
    execv(program.c_str(), argv.data());
    _exit(127);
  }
  return pid;
}

std::filesystem::file_time_type modified(const std::string& path) {
  std::error_code ec;
  const auto time = std::filesystem::last_write_time(path, ec);
  return ec ? std::filesystem::file_time_type{} : time;
}

}  // namespace

TEST(TrainCrash, KilledAtThreeRandomMomentsAndResumedGivesBitIdenticalWeights) {
  test::TempDir dir;
  write_manifest(dir / "train.csv", test::tiny_xrays(dir, 64, "train"));
  write_manifest(dir / "val.csv", test::tiny_xrays(dir, 16, "val"));
  auto args = [&](const std::string& out, bool resume) {
    std::vector<std::string> a = {"--threads",
                                  "1",
                                  "train",
                                  "--data",
                                  dir / "train.csv",
                                  "--val",
                                  dir / "val.csv",
                                  "--out",
                                  out,
                                  "--image-size",
                                  "64",
                                  "--epochs",
                                  "10",
                                  "--batch-size",
                                  "8",
                                  "--patience",
                                  "100",
                                  "--no-progress"};
    if (resume) a.push_back("--resume");
    return a;
  };
  const std::string reference = dir / "reference.psmodel";
  const pid_t whole = spawn_cli(args(reference, false), dir / "reference.log");
  int status = 0;
  ASSERT_EQ(waitpid(whole, &status, 0), whole);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << read_file(dir / "reference.log");

  // Each kill lands at a random moment of an epoch after this process wrote a
  // checkpoint (mid-step, mid-validation or mid-write); the moments are logged.
  const std::string model = dir / "killed.psmodel";
  std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<int> delay_ms(0, 400);
  for (int kill_number = 0; kill_number < 3; ++kill_number) {
    const auto before = modified(checkpoint_path(model));
    const pid_t pid = spawn_cli(args(model, kill_number > 0), dir / "killed.log");
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (modified(checkpoint_path(model)) == before && std::chrono::steady_clock::now() < deadline &&
           waitpid(pid, &status, WNOHANG) == 0)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    const int delay = delay_ms(rng);
    std::this_thread::sleep_for(std::chrono::milliseconds(delay));
    kill(pid, SIGKILL);
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << "run " << kill_number << " ended before the kill " << delay << " ms after a checkpoint:\n"
        << read_file(dir / "killed.log");
    std::cout << "killed run " << kill_number << " " << delay << " ms after this run's first checkpoint\n";
  }
  const pid_t last = spawn_cli(args(model, true), dir / "killed.log");
  ASSERT_EQ(waitpid(last, &status, 0), last);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << read_file(dir / "killed.log");

  const LoadedModel expected = load_model(reference);
  const LoadedModel resumed = load_model(model);
  const NamedTensors expected_weights = state_dict(*expected.net);
  const NamedTensors resumed_weights = state_dict(*resumed.net);
  ASSERT_EQ(expected_weights.size(), resumed_weights.size());
  for (size_t i = 0; i < expected_weights.size(); ++i) {
    ASSERT_EQ(expected_weights[i].first, resumed_weights[i].first);
    EXPECT_TRUE(torch::equal(expected_weights[i].second, resumed_weights[i].second))
        << expected_weights[i].first << " differs after the kills";
  }
  EXPECT_EQ(resumed.metadata.threshold, expected.metadata.threshold);
  EXPECT_EQ(resumed.metadata.training.at("best_epoch"), expected.metadata.training.at("best_epoch"));
}
