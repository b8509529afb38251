// pneumoscan bench: training throughput (real loader vs. ready tensors) and batch-1 latency;
// with --allreduce, the gradient all-reduce time of a data-parallel group.
#include <ATen/Parallel.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "benchmark/all_reduce.h"
#include "benchmark/bench.h"
#include "cli/command.h"
#include "cli/distributed_options.h"
#include "core/atomic_file.h"
#include "core/runtime.h"

namespace pneumoscan::cli {
namespace {

struct BenchArgs {
  std::string data, json;
  std::vector<std::string> runs = {"resnet18:224", "small-cnn:128"};
  BenchOptions options;
  std::string allreduce;
  int repeats = 10;
  DistributedFlags distributed;
};

// --allreduce ARCH: every rank of the group runs this; rank 0 prints and writes the JSON.
int run_all_reduce(BenchArgs& args) {
  const DistributedOptions options = resolve(args.distributed, "cpu");
  if (!options.distributed())
    throw UsageError("--allreduce needs a group: --world-size 2 or more (or WORLD_SIZE)");
  const std::unique_ptr<Communicator> comm = join_group(options);
  const AllReduceResult r = time_gradient_all_reduce(args.allreduce, *comm, args.repeats);
  if (!comm->is_root()) return 0;
  std::printf(
      "%s gradient: %lld floats (%.1f MB) over %d ranks, threads %d: median %.1f ms, min %.1f ms "
      "(%d repeats), ring bus bandwidth %.2f GB/s\n",
      r.architecture.c_str(), static_cast<long long>(r.floats), 4.0 * r.floats / 1e6, r.world_size,
      at::get_num_threads(), r.median_ms, r.min_ms, r.repeats, r.bus_gigabytes_per_second);
  if (!args.json.empty()) write_file_atomically(args.json, to_json(r).dump(2) + "\n");
  return 0;
}

int run_bench_command(BenchArgs& args) {
  if (!args.allreduce.empty()) return run_all_reduce(args);
  args.options.data = args.data.empty() ? shared_dir() + "/data/chest_xray/train" : args.data;
  std::printf("threads %d, precision %s, allocator %s, data %s\n\n", at::get_num_threads(),
              precision_name(args.options.precision).c_str(), allocator_name().c_str(),
              args.options.data.c_str());
  std::printf("%-16s %5s %12s %14s %14s %9s %10s %9s %12s\n", "arch", "size", "decode img/s", "train img/s",
              "train img/s", "loader", "latency", "p90", "latency");
  std::printf("%-16s %5s %12s %14s %14s %9s %10s %9s %12s\n", "", "", "(1st epoch)", "(loader)", "(tensors)",
              "overhead", "b1 median", "",
              ("b" + std::to_string(args.options.latency_batch) + " median").c_str());
  nlohmann::json all = nlohmann::json::array();
  std::vector<BenchResult> results;
  for (const std::string& run : args.runs) {
    const auto colon = run.find(':');
    const std::string arch = run.substr(0, colon);
    const int size = colon == std::string::npos ? 0 : std::stoi(run.substr(colon + 1));
    const BenchResult r = run_bench(arch, size > 0 ? size : 224, args.options);
    std::printf("%-16s %5d %12.0f %14.1f %14.1f %8.1f%% %8.2fms %7.2fms %10.1fms\n", r.architecture.c_str(),
                r.input_size, r.decode_images_per_second, r.train_loader_images_per_second,
                r.train_tensor_images_per_second, 100.0 * r.loader_overhead, r.latency_median_ms,
                r.latency_p90_ms, r.batch_latency_median_ms);
    std::fflush(stdout);
    all.push_back(to_json(r));
    results.push_back(r);
  }
  const double peak = measure_peak_gflops(args.options.precision);
  std::printf(
      "\nmachine: %.1f GFLOP/s %s (1024^3 product, BLAS or oneDNN, %d threads); achieved, counting 2 FLOPs "
      "per "
      "multiply-add:\n",
      peak, precision_name(args.options.precision).c_str(), at::get_num_threads());
  for (size_t i = 0; i < results.size(); ++i) {
    const BenchResult& r = results[i];
    std::printf(
        "  %-16s %5d  %.2f GMAC/image  training %.1f GFLOP/s (%.0f%%)  inference b%d %.1f GFLOP/s (%.0f%%)\n",
        r.architecture.c_str(), r.input_size, r.multiply_adds / 1e9, r.train_gflops,
        100 * r.train_gflops / peak, std::max(1, r.latency_batch), r.inference_gflops,
        100 * r.inference_gflops / peak);
    all[i]["peak_gflops"] = peak;
  }
  if (!args.json.empty()) write_file_atomically(args.json, all.dump(2) + "\n");
  return 0;
}

std::function<int()> add_bench(CLI::App& app) {
  auto args = std::make_shared<BenchArgs>();
  CLI::App* cmd =
      app.add_subcommand("bench", "Measure training img/s (loader vs tensors) and batch-1 latency");
  cmd->add_option("--data", args->data, "JPEG data for the loader runs (default: shared chest_xray/train)");
  cmd->add_option("--runs", args->runs, "ARCH:SIZE pairs")->delimiter(',')->capture_default_str();
  add_precision_option(cmd, args->options.precision, "Training (autocast) and inference number format");
  cmd->add_option("--steps", args->options.train_steps, "Timed training steps per run")
      ->capture_default_str();
  cmd->add_option("--batch-size", args->options.batch_size, "Training batch size")->capture_default_str();
  cmd->add_option("--latency-runs", args->options.latency_runs, "Timed batch-1 passes")
      ->capture_default_str();
  cmd->add_option("--latency-batch", args->options.latency_batch,
                  "Also time forward passes of this many images at once (0 = not)")
      ->check(CLI::Range(0, 1024))
      ->capture_default_str();
  cmd->add_option("--json", args->json, "Also write the results as JSON");
  cmd->add_option(
      "--allreduce", args->allreduce,
      "Instead: time the gradient all-reduce of this architecture in a data-parallel group (start one "
      "process per rank with the group flags)");
  cmd->add_option("--repeats", args->repeats, "Timed all-reduces for --allreduce")->capture_default_str();
  add_distributed_options(cmd, args->distributed);
  return [args] { return run_bench_command(*args); };
}

}  // namespace

PNEUMOSCAN_COMMAND(bench, add_bench);

}  // namespace pneumoscan::cli
