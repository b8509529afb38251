#pragma once
// Throughput and latency measurements behind `pneumoscan bench`: training
// img/s fed by the real loader (decoded cache + augmentation) vs. ready
// tensors, and batch-1 inference latency.
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace pneumoscan {

struct BenchOptions {
  std::string data;        // folder or manifest of real X-rays (JPEG) for the loader runs
  int train_steps = 10;    // timed training steps per run (after 2 warm-up steps)
  int batch_size = 32;
  int latency_runs = 50;   // timed batch-1 forward passes (after 5 warm-up)
};

struct BenchResult {
  std::string architecture;
  int input_size = 0;
  double decode_images_per_second = 0;      // first epoch: JPEG decode + resize into the cache
  double train_loader_images_per_second = 0;  // later epochs: cache + augmentation + training step
  double train_tensor_images_per_second = 0;  // training step on ready tensors
  double loader_overhead = 0;                 // 1 - loader / tensor
  double latency_median_ms = 0, latency_p90_ms = 0;  // batch 1, eval, inference mode
};

BenchResult run_bench(const std::string& architecture, int input_size, const BenchOptions& options);

nlohmann::json to_json(const BenchResult& result);

}  // namespace pneumoscan
