#pragma once
// Throughput and latency measurements behind `pneumoscan bench`: training
// img/s fed by the real loader (decoded cache + augmentation) vs. ready
// tensors, and inference latency at batch 1 and a larger batch, with the
// network as predict runs it (eval, BatchNorm folded, channels-last).
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "core/precision.h"

namespace pneumoscan {

struct BenchOptions {
  std::string data;      // folder or manifest of real X-rays (JPEG) for the loader runs
  int train_steps = 10;  // timed training steps per run (after 2 warm-up steps)
  int batch_size = 32;
  int latency_runs = 50;   // timed batch-1 forward passes (after 5 warm-up)
  int latency_batch = 32;  // also time forward passes of this batch size (0 = not)
  // bfloat16: training under autocast (train/step.h) and inference with the
  // network converted, as `train`/`predict --precision bf16` run them.
  Precision precision = Precision::kFloat32;
};

struct BenchResult {
  std::string architecture;
  int input_size = 0;
  std::string precision = "float32";
  double decode_images_per_second = 0;               // first epoch: JPEG decode + resize into the cache
  double train_loader_images_per_second = 0;         // later epochs: cache + augmentation + training step
  double train_tensor_images_per_second = 0;         // training step on ready tensors
  double loader_overhead = 0;                        // 1 - loader / tensor
  double latency_median_ms = 0, latency_p90_ms = 0;  // batch 1, eval, inference mode
  int latency_batch = 0;                             // 0 when not measured
  double batch_latency_median_ms = 0;                // one forward pass of latency_batch images
  // Work done per second, counting 2 FLOPs per multiply-add of the forward
  // pass (models/complexity.h) and 3 forward passes' worth per training image
  // (forward + two backward products), as the roofline literature does.
  double multiply_adds = 0;     // one forward pass, one image
  double train_gflops = 0;      // on ready tensors
  double inference_gflops = 0;  // batch latency_batch (batch 1 when not measured)
};

// The machine's attainable rate in `precision` on the configured threads, in
// GFLOP/s: the faster of a 1024^3 matrix product through BLAS and the same
// product as a 1x1 convolution through oneDNN (medians of 15 timed runs).
// What the networks' achieved rates are compared against.
double measure_peak_gflops(Precision precision = Precision::kFloat32);

BenchResult run_bench(const std::string& architecture, int input_size, const BenchOptions& options);

nlohmann::json to_json(const BenchResult& result);

}  // namespace pneumoscan
