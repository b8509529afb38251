// Tests of src/distributed/ and data-parallel `pneumoscan train`: the
// sampler and the launcher settings in-process; the group itself with real
// `pneumoscan train` processes (fork + exec of the built binary), on tiny
// images this file writes.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <opencv2/imgcodecs.hpp>
#include <set>
#include <sstream>
#include <thread>
#include <tuple>

#include "core/atomic_file.h"
#include "distributed/communicator.h"
#include "distributed/sampler.h"
#include "model_file/model_file.h"
#include "models/state_dict.h"
#include "test_support.h"

using namespace pneumoscan;

namespace {

// ---- the sampler and the settings ------------------------------------------

TEST(Distributed, ShardsCoverTheEpochInEqualDisjointParts) {
  std::vector<size_t> order(10);
  for (size_t i = 0; i < order.size(); ++i) order[i] = 100 + (i * 7) % 10;  // a permutation of 100..109
  const std::vector<size_t> a = shard_of(order, 0, 3), b = shard_of(order, 1, 3), c = shard_of(order, 2, 3);
  ASSERT_EQ(a.size(), 4u);  // 10 padded to 12
  ASSERT_EQ(b.size(), 4u);
  ASSERT_EQ(c.size(), 4u);
  EXPECT_EQ(a, (std::vector<size_t>{order[0], order[3], order[6], order[9]}));
  EXPECT_EQ(c, (std::vector<size_t>{order[2], order[5], order[8], order[1]}));  // padded with the start
  std::multiset<size_t> all(a.begin(), a.end());
  all.insert(b.begin(), b.end());
  all.insert(c.begin(), c.end());
  for (size_t index : order) EXPECT_GE(all.count(index), 1u) << index << " is in no shard";
  EXPECT_EQ(all.size(), 12u);
  EXPECT_EQ(shard_of(order, 0, 1), order);
  EXPECT_THROW(shard_of(order, 3, 3), UsageError);
  EXPECT_THROW(shard_of({}, 0, 2), UsageError);
}

TEST(Distributed, LauncherVariablesFillTheSettings) {
  setenv("WORLD_SIZE", "4", 1);
  setenv("RANK", "3", 1);
  setenv("MASTER_ADDR", "10.1.2.3", 1);
  setenv("MASTER_PORT", "29999", 1);
  const DistributedOptions options = with_environment(DistributedOptions{});
  EXPECT_EQ(options.world_size, 4);
  EXPECT_EQ(options.rank, 3);
  EXPECT_EQ(options.master_addr, "10.1.2.3");
  EXPECT_EQ(options.master_port, 29999);
  EXPECT_NO_THROW(validate(options));
  setenv("RANK", "three", 1);
  EXPECT_THROW(with_environment(DistributedOptions{}), UsageError);
  for (const char* name : {"WORLD_SIZE", "RANK", "MASTER_ADDR", "MASTER_PORT"}) unsetenv(name);
  DistributedOptions bad;
  bad.world_size = 2;
  bad.rank = 2;
  EXPECT_THROW(validate(bad), UsageError);
}

// ---- processes -----------------------------------------------------------------

// A `pneumoscan` process with its output in a log file; `prefix` runs it
// through another program (ip netns exec NS).
struct Process {
  pid_t pid = -1;
  std::string log;

  Process(const std::vector<std::string>& arguments, std::string log_path,
          const std::vector<std::string>& prefix = {})
      : log(std::move(log_path)) {
    std::vector<std::string> argv = prefix;
    argv.push_back(PNEUMOSCAN_CLI_PATH);
    argv.insert(argv.end(), arguments.begin(), arguments.end());
    pid = fork();
    if (pid == 0) {
      const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(fd, 1);
      dup2(fd, 2);
      std::vector<char*> raw;
      for (auto& a : argv) raw.push_back(a.data());
      raw.push_back(nullptr);
      execvp(raw[0], raw.data());
      _exit(127);
    }
  }
  ~Process() {
    if (pid > 0) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
  }

  // The exit code within `seconds`, or -1 (killed) when it was still running.
  int wait(double seconds) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (waitpid(pid, &status, WNOHANG) == pid) {
        pid = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    pid = -1;
    return -1;
  }

  std::string output() const {
    std::ifstream in(log);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }
};

// train/ and val/ folders of tiny NORMAL and PNEUMONIA images (brighter
// lungs for pneumonia, noise), patients apart; 20 + 12 training images so
// the class weights differ from 1.
void write_tiny_dataset(const std::filesystem::path& root) {
  cv::RNG rng(11);
  int patient = 0;
  for (const auto& [split, normal, pneumonia] :
       std::vector<std::tuple<std::string, int, int>>{{"train", 20, 12}, {"val", 4, 4}}) {
    for (const std::string label : {"NORMAL", "PNEUMONIA"}) {
      const std::filesystem::path folder = root / split / label;
      std::filesystem::create_directories(folder);
      const int count = label == "NORMAL" ? normal : pneumonia;
      for (int i = 0; i < count; ++i) {
        cv::Mat image(32, 32, CV_8UC1);
        rng.fill(image, cv::RNG::UNIFORM, label == "NORMAL" ? 20 : 80, label == "NORMAL" ? 160 : 230);
        const std::string name = "person" + std::to_string(++patient) +
                                 (label == "NORMAL" ? "" : "_bacteria") + "_" + std::to_string(i) + ".png";
        ASSERT_TRUE(cv::imwrite((folder / name).string(), image));
      }
    }
  }
}

struct DistributedTraining : ::testing::Test {
  test::TempDir dir;
  void SetUp() override { write_tiny_dataset(dir.path); }

  // `train` on the tiny set; `extra` adds or overrides flags.
  std::vector<std::string> train_args(const std::string& out, const std::vector<std::string>& extra) const {
    std::vector<std::string> args = {"--threads",    "1",         "train", "--data", dir / "train",
                                     "--val",        dir / "val", "--out", out,      "--no-progress",
                                     "--no-augment", "--seed",    "7"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }

  static std::vector<std::string> rank_args(int world_size, int rank, const std::string& address, int port,
                                            double timeout = 60) {
    std::ostringstream seconds;
    seconds << timeout;
    return {"--world-size",   std::to_string(world_size),
            "--rank",         std::to_string(rank),
            "--master-addr",  address,
            "--master-port",  std::to_string(port),
            "--dist-timeout", seconds.str()};
  }
};

std::vector<std::string> operator+(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// Largest absolute difference between two model files' weights.
double max_weight_difference(const std::string& a, const std::string& b) {
  LoadedModel first = load_model(a), second = load_model(b);
  std::map<std::string, torch::Tensor> other;
  for (auto& [name, tensor] : state_dict(*second.net)) other[name] = tensor;
  double largest = 0;
  for (auto& [name, tensor] : state_dict(*first.net)) {
    EXPECT_TRUE(other.count(name)) << name;
    if (!other.count(name)) continue;
    largest = std::max(largest, (tensor - other[name]).abs().max().item<double>());
  }
  return largest;
}

// 2 ranks with half the global batch each take the same steps as 1 process
// with all of it. Exact in arithmetic with ResNet-18 (no dropout) and
// BatchNorm in eval mode (--freeze-bn-stats: per-image normalisation, so
// half batches see what the whole batch sees), Adam, class weights on
// (20/12 images: each rank's loss is scaled to its share of the batch's
// weight). What remains is float32 summation order, which Adam's division
// by the root of tiny second moments enlarges: tolerance 5e-5 on weights of
// magnitude ~0.1 (measured 9.6e-6; 7.2e-6 without class weights, so the
// weight-share scaling adds nothing). The control (1 process with batch 4,
// i.e. the mistake of ranks that each step on their own half batch; measured
// 4.4e-3) must differ by more than 10x the tolerance, so the comparison can fail.
TEST_F(DistributedTraining, TwoRanksWithHalfTheBatchEachMatchOneProcess) {
  const std::vector<std::string> model = {
      "--arch",      "resnet18", "--image-size", "32",     "--freeze-bn-stats", "--epochs", "2",
      "--optimizer", "adam",     "--lr",         "0.0003", "--patience",        "5"};
  Process single(train_args(dir / "one.psmodel", model + std::vector<std::string>{"--batch-size", "8"}),
                 dir / "one.log");
  ASSERT_EQ(single.wait(120), 0) << single.output();

  const int port = test::free_port();
  const auto two = model + std::vector<std::string>{"--batch-size", "8"};
  Process rank0(train_args(dir / "two.psmodel", two + rank_args(2, 0, "127.0.0.1", port)), dir / "rank0.log");
  Process rank1(train_args(dir / "rank1.psmodel", two + rank_args(2, 1, "127.0.0.1", port)),
                dir / "rank1.log");
  ASSERT_EQ(rank0.wait(120), 0) << rank0.output();
  ASSERT_EQ(rank1.wait(30), 0) << rank1.output();
  EXPECT_FALSE(std::filesystem::exists(dir / "rank1.psmodel")) << "only rank 0 writes the model";
  EXPECT_FALSE(std::filesystem::exists(dir / "rank1.psmodel.ckpt")) << "only rank 0 writes checkpoints";
  EXPECT_NE(rank1.output().find("rank 1 of 2"), std::string::npos) << rank1.output();

  Process control(train_args(dir / "half.psmodel", model + std::vector<std::string>{"--batch-size", "4"}),
                  dir / "half.log");
  ASSERT_EQ(control.wait(120), 0) << control.output();

  const double tolerance = 5e-5;
  const double distributed = max_weight_difference(dir / "one.psmodel", dir / "two.psmodel");
  const double mistaken = max_weight_difference(dir / "one.psmodel", dir / "half.psmodel");
  std::cout << "max weight difference to 1 process: 2 ranks " << distributed << ", control " << mistaken
            << "\n";
  EXPECT_LE(distributed, tolerance);
  EXPECT_GT(mistaken, 10 * tolerance) << "the control does not differ: the comparison has no power";
  EXPECT_NEAR(read_model_metadata(dir / "one.psmodel").threshold,
              read_model_metadata(dir / "two.psmodel").threshold, 1e-4);
}

// The small CNN at 32 px: a quick group for the failure tests.
const std::vector<std::string> kQuick = {"--arch", "small-cnn", "--image-size", "32", "--batch-size", "8"};

TEST_F(DistributedTraining, LateRankStillJoins) {
  const int port = test::free_port();
  // The client first: it keeps trying to reach rank 0's store.
  Process rank1(train_args(dir / "m.psmodel", kQuick + std::vector<std::string>{"--epochs", "1"} +
                                                  rank_args(2, 1, "127.0.0.1", port)),
                dir / "rank1.log");
  std::this_thread::sleep_for(std::chrono::seconds(2));
  Process rank0(train_args(dir / "m.psmodel", kQuick + std::vector<std::string>{"--epochs", "1"} +
                                                  rank_args(2, 0, "127.0.0.1", port)),
                dir / "rank0.log");
  EXPECT_EQ(rank0.wait(90), 0) << rank0.output();
  EXPECT_EQ(rank1.wait(30), 0) << rank1.output();
  EXPECT_TRUE(std::filesystem::exists(dir / "m.psmodel"));
}

// Runs a 2-rank group on localhost to the end; both ranks must exit 0.
void run_group(DistributedTraining& t, const std::string& out, const std::vector<std::string>& flags,
               const std::string& name) {
  const int port = test::free_port();
  Process rank1(t.train_args(out, flags + t.rank_args(2, 1, "127.0.0.1", port)),
                t.dir / (name + ".rank1.log"));
  Process rank0(t.train_args(out, flags + t.rank_args(2, 0, "127.0.0.1", port)),
                t.dir / (name + ".rank0.log"));
  ASSERT_EQ(rank0.wait(90), 0) << rank0.output();
  ASSERT_EQ(rank1.wait(30), 0) << rank1.output();
}

// Interrupted after epoch 1 and resumed on both ranks (rank 1 gets rank 0's
// checkpoint over the group), the group ends where an uninterrupted one does
// (dropout included: its masks follow the seed, the epoch and the rank).
TEST_F(DistributedTraining, ResumeContinuesOnEveryRank) {
  run_group(*this, dir / "whole.psmodel", kQuick + std::vector<std::string>{"--epochs", "2"}, "whole");
  run_group(*this, dir / "parts.psmodel", kQuick + std::vector<std::string>{"--epochs", "1"}, "first");
  run_group(*this, dir / "parts.psmodel", kQuick + std::vector<std::string>{"--epochs", "2", "--resume"},
            "rest");
  EXPECT_LE(max_weight_difference(dir / "whole.psmodel", dir / "parts.psmodel"), 1e-6);
}

// `compare` as 2 ranks: both train every entry together, rank 0 alone
// evaluates and writes the table; run again, rank 0 finds the finished model
// and every rank skips it (rank 1 has no model files of its own to look at).
TEST_F(DistributedTraining, CompareTrainsEveryEntryOnAllRanksAndRankZeroWritesTheTable) {
  auto compare_args = [&](const std::string& out, int rank, int port) {
    return std::vector<std::string>{"--threads",
                                    "1",
                                    "compare",
                                    "--archs",
                                    "small-cnn:size=32,small-cnn:size=32:name=again",
                                    "--data",
                                    dir / "train",
                                    "--val",
                                    dir / "val",
                                    "--out",
                                    out,
                                    "--epochs",
                                    "1",
                                    "--batch-size",
                                    "8",
                                    "--no-augment",
                                    "--no-plots",
                                    "--no-progress",
                                    "--seed",
                                    "7"} +
           rank_args(2, rank, "127.0.0.1", port);
  };
  for (int run = 0; run < 2; ++run) {
    const int port = test::free_port();
    Process rank1(compare_args(dir / "out1", 1, port), dir / ("compare1." + std::to_string(run) + ".log"));
    Process rank0(compare_args(dir / "out0", 0, port), dir / ("compare0." + std::to_string(run) + ".log"));
    ASSERT_EQ(rank0.wait(120), 0) << rank0.output();
    ASSERT_EQ(rank1.wait(30), 0) << rank1.output();
    EXPECT_NE(rank1.output().find("rank 0 writes the tables"), std::string::npos) << rank1.output();
    if (run == 1) EXPECT_NE(rank0.output().find("reusing"), std::string::npos) << rank0.output();
  }
  const std::string table = read_file(dir / "out0/comparison.md");
  EXPECT_NE(table.find("again"), std::string::npos) << table;
  EXPECT_TRUE(std::filesystem::exists(dir / "out0/models/small-cnn.psmodel"));
  EXPECT_FALSE(std::filesystem::exists(dir / "out1/comparison.md"));
  EXPECT_FALSE(std::filesystem::exists(dir / "out1/models/small-cnn.psmodel"));
}

// The launcher's variables say 2 ranks, the flag says 1: the flag wins, and
// the run trains alone (it would wait for a rank 0 otherwise).
TEST_F(DistributedTraining, FlagsWinOverLauncherVariables) {
  setenv("WORLD_SIZE", "2", 1);
  setenv("RANK", "1", 1);
  setenv("MASTER_PORT", std::to_string(test::free_port()).c_str(), 1);
  Process alone(
      train_args(dir / "m.psmodel", kQuick + std::vector<std::string>{"--epochs", "1", "--world-size", "1",
                                                                      "--rank", "0", "--dist-timeout", "2"}),
      dir / "alone.log");
  for (const char* name : {"WORLD_SIZE", "RANK", "MASTER_PORT"}) unsetenv(name);
  EXPECT_EQ(alone.wait(60), 0) << alone.output();
  EXPECT_EQ(alone.output().find("joined as"), std::string::npos) << alone.output();
  EXPECT_TRUE(std::filesystem::exists(dir / "m.psmodel"));
}

// Rank 1 without a rank 0 to reach, and rank 0 without a rank 1 to wait
// for: each stops after the 2 s timeout with one line naming itself.
TEST_F(DistributedTraining, MissingRankIsAOneLineErrorWithinTheTimeout) {
  const auto quick = kQuick + std::vector<std::string>{"--epochs", "1"};
  for (int rank = 0; rank < 2; ++rank) {
    const int port = test::free_port();
    const auto start = std::chrono::steady_clock::now();
    Process alone(train_args(dir / "m.psmodel", quick + rank_args(2, rank, "127.0.0.1", port, 2)),
                  dir / "alone.log");
    const int code = alone.wait(30);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const std::string output = alone.output();
    EXPECT_EQ(code, 1) << output;
    EXPECT_LT(seconds, 15) << output;
    const std::string where =
        "error: rank " + std::to_string(rank) + " of 2 (127.0.0.1:" + std::to_string(port) + "): ";
    const std::string expected = where + (rank == 0 ? "rank(s) 1 did not arrive within 2 s\n"
                                                    : "cannot reach the rendezvous within 2 s (");
    EXPECT_NE(output.find(expected), std::string::npos) << output;
    EXPECT_EQ(output.find("WARNING: Logging before InitGoogleLogging"), std::string::npos) << output;
  }
}

// Kills `victim` once rank 0 has finished an epoch (its checkpoint exists);
// the survivor must stop with a one-line error naming itself, not hang.
void expect_survivor_stops(DistributedTraining& t, int victim) {
  const int port = test::free_port();
  const auto long_run = kQuick + std::vector<std::string>{"--epochs", "500", "--patience", "500"};
  const std::string out = t.dir / "m.psmodel";
  std::unique_ptr<Process> ranks[2];
  for (int rank = 0; rank < 2; ++rank)
    ranks[rank] =
        std::make_unique<Process>(t.train_args(out, long_run + t.rank_args(2, rank, "127.0.0.1", port, 60)),
                                  t.dir / ("rank" + std::to_string(rank) + ".log"));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(90);
  while (!std::filesystem::exists(out + ".ckpt") && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_TRUE(std::filesystem::exists(out + ".ckpt")) << ranks[0]->output();
  Process& dead = *ranks[victim];
  Process& survivor = *ranks[1 - victim];
  kill(dead.pid, SIGKILL);
  EXPECT_EQ(dead.wait(10), 128 + SIGKILL);
  const auto killed = std::chrono::steady_clock::now();
  const int code = survivor.wait(30);  // far below the 60 s collective timeout: the broken connection is seen
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - killed).count();
  const std::string output = survivor.output();
  EXPECT_EQ(code, 1) << output;
  EXPECT_LT(seconds, 20);
  const std::string where = "error: rank " + std::to_string(1 - victim) + " of 2";
  EXPECT_NE(output.find(where), std::string::npos) << output;
  EXPECT_NE(output.find("a peer has died or stopped answering"), std::string::npos) << output;
}

TEST_F(DistributedTraining, KilledRankStopsRankZero) { expect_survivor_stops(*this, 1); }

TEST_F(DistributedTraining, KilledRankZeroStopsTheOthers) { expect_survivor_stops(*this, 0); }

// Two network namespaces joined by a veth pair: the ranks reach each other
// only over 10.213.<n>.0/24, as two hosts would.
struct NamespacePair {
  std::string a, b;
  bool created = false;
  std::string problem;

  NamespacePair() {
    const std::string id = std::to_string(getpid() % 60000);
    a = "psdist-a-" + id;
    b = "psdist-b-" + id;
    const std::string subnet = "10.213." + std::to_string(getpid() % 250) + ".";
    const std::vector<std::string> steps = {
        "ip netns add " + a,
        "ip netns add " + b,
        "ip link add veth-" + id + "a netns " + a + " type veth peer name veth-" + id + "b netns " + b,
        "ip -n " + a + " addr add " + subnet + "1/24 dev veth-" + id + "a",
        "ip -n " + b + " addr add " + subnet + "2/24 dev veth-" + id + "b",
        "ip -n " + a + " link set veth-" + id + "a up",
        "ip -n " + b + " link set veth-" + id + "b up",
        "ip -n " + a + " link set lo up",
        "ip -n " + b + " link set lo up"};
    for (const auto& step : steps) {
      const test::CommandResult result = test::run_command(step);
      if (result.exit_code != 0) {
        problem = step + ": " + result.output;
        return;
      }
      created = true;
    }
    master = subnet + "1";
  }
  ~NamespacePair() {
    if (!created) return;
    test::run_command("ip netns del " + a);  // takes its end of the veth pair, and so the pair, with it
    test::run_command("ip netns del " + b);
  }
  std::string master;
};

TEST_F(DistributedTraining, TwoRanksInTwoNetworkNamespaces) {
  if (test::run_command("ip -V").exit_code != 0) GTEST_SKIP() << "ip (iproute2) is not installed";
  NamespacePair pair;
  if (!pair.problem.empty())
    GTEST_SKIP() << "cannot create network namespaces here (needs CAP_NET_ADMIN, e.g. root outside a "
                    "restricted container): "
                 << pair.problem;
  const int port = 29500 + getpid() % 1000;  // a fresh namespace has every port free
  const auto quick = kQuick + std::vector<std::string>{"--epochs", "1"};
  Process rank0(train_args(dir / "m.psmodel", quick + rank_args(2, 0, pair.master, port, 30)),
                dir / "rank0.log", {"ip", "netns", "exec", pair.a});
  Process rank1(train_args(dir / "m.psmodel", quick + rank_args(2, 1, pair.master, port, 30)),
                dir / "rank1.log", {"ip", "netns", "exec", pair.b});
  EXPECT_EQ(rank0.wait(90), 0) << rank0.output();
  EXPECT_EQ(rank1.wait(30), 0) << rank1.output();
  EXPECT_TRUE(std::filesystem::exists(dir / "m.psmodel"));
  EXPECT_NE(rank1.output().find("joined as rank 1 of 2 (" + pair.master), std::string::npos)
      << rank1.output();
}

}  // namespace
