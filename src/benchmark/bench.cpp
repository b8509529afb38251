#include "benchmark/bench.h"

#include <torch/torch.h>

#include <algorithm>
#include <functional>
#include <nlohmann/json.hpp>

#include "core/errors.h"
#include "core/timing.h"
#include "data/loader.h"
#include "data/train_val.h"
#include "infer/predictor.h"
#include "models/complexity.h"
#include "models/registry.h"
#include "train/step.h"

namespace pneumoscan {
namespace {

// Wall times in milliseconds of `runs` calls of `work` after `warmup` untimed ones, sorted.
std::vector<double> sorted_milliseconds(const std::function<void()>& work, int warmup, int runs) {
  for (int i = 0; i < warmup; ++i) work();
  std::vector<double> ms;
  for (int i = 0; i < std::max(1, runs); ++i) {
    const auto t = Clock::now();
    work();
    ms.push_back(seconds_since(t) * 1000.0);
  }
  std::sort(ms.begin(), ms.end());
  return ms;
}

double median(const std::vector<double>& sorted) { return sorted[sorted.size() / 2]; }
}  // namespace

BenchResult run_bench(const std::string& architecture, int input_size, const BenchOptions& options) {
  BenchResult result;
  result.architecture = architecture;
  result.input_size = input_size;
  result.precision = precision_name(options.precision);
  check_precision_supported(options.precision, c10::Device(c10::kCPU));
  StepOptions step_options;
  step_options.precision = options.precision;
  const ModelSpec spec = complete_spec({architecture, input_size, 1, 0});
  const int steps = std::max(1, options.train_steps);
  const int warmup = 2;

  // The real loader: decode the images once (first epoch), then batches from the cache with augmentation.
  std::vector<Sample> samples = read_dataset(options.data);
  std::vector<Sample> labelled;
  for (const auto& s : samples)
    if (s.label == kNormal || s.label == kPneumonia) labelled.push_back(s);
  labelled = stratified_subset(labelled, static_cast<int64_t>(options.batch_size) * (steps + warmup), 1);
  if (labelled.size() < static_cast<size_t>(options.batch_size))
    throw UsageError(options.data + ": too few labelled images for a benchmark batch");
  PreprocessConfig preprocess;
  preprocess.input_size = input_size;
  auto start = Clock::now();
  ImageCache cache(labelled, preprocess);
  result.decode_images_per_second = cache.size() / seconds_since(start);

  torch::manual_seed(0);
  Classifier net = create_model(spec);
  to_channels_last(*net);
  net->train();
  torch::optim::AdamW optimizer(net->parameters(), torch::optim::AdamWOptions(1e-4));

  BatchOptions batch_options;
  batch_options.batch_size = options.batch_size;
  batch_options.shuffle = true;
  batch_options.augment = true;
  {
    BatchStream stream(cache, batch_options, 1);
    int step = 0;
    int64_t images = 0;
    while (auto batch = stream.next()) {
      if (step == warmup) start = Clock::now();
      train_step(*net, optimizer, batch->images, batch->labels, step_options);
      if (step >= warmup) images += batch->images.size(0);
      ++step;
    }
    result.train_loader_images_per_second = images / seconds_since(start);
  }

  // The same steps on ready tensors.
  const torch::Tensor images = torch::randn({options.batch_size, 1, input_size, input_size})
                                   .contiguous(torch::MemoryFormat::ChannelsLast);
  const torch::Tensor labels = torch::randint(0, 2, {options.batch_size}, torch::kInt64);
  for (int i = 0; i < warmup; ++i) train_step(*net, optimizer, images, labels, step_options);
  start = Clock::now();
  for (int i = 0; i < steps; ++i) train_step(*net, optimizer, images, labels, step_options);
  result.train_tensor_images_per_second =
      static_cast<double>(steps) * options.batch_size / seconds_since(start);
  result.loader_overhead =
      1.0 - result.train_loader_images_per_second / result.train_tensor_images_per_second;

  // Inference latency, with the network as predict runs it (infer/predictor.h).
  prepare_for_inference(*net, options.precision, c10::Device(c10::kCPU));
  result.multiply_adds = static_cast<double>(count_multiply_adds(*net, 1, input_size));
  c10::InferenceMode inference;
  // Batch 1, as a reader beside the X-ray machine sees it.
  const torch::Tensor one = net->prepare_input(images.slice(0, 0, 1), c10::Device(c10::kCPU));
  const std::vector<double> ms = sorted_milliseconds([&] { net->forward(one); }, 5, options.latency_runs);
  result.latency_median_ms = median(ms);
  result.latency_p90_ms = ms[std::min(ms.size() - 1, ms.size() * 9 / 10)];
  result.train_gflops = 3 * 2 * result.multiply_adds * result.train_tensor_images_per_second / 1e9;
  result.inference_gflops = 2 * result.multiply_adds / (result.latency_median_ms / 1000) / 1e9;
  if (options.latency_batch > 0) {
    const torch::Tensor batch = net->prepare_input(
        torch::randn({options.latency_batch, 1, input_size, input_size}), c10::Device(c10::kCPU));
    result.latency_batch = options.latency_batch;
    result.batch_latency_median_ms =
        median(sorted_milliseconds([&] { net->forward(batch); }, 5, std::max(3, options.latency_runs / 10)));
    result.inference_gflops =
        2 * result.multiply_adds * options.latency_batch / (result.batch_latency_median_ms / 1000) / 1e9;
  }
  return result;
}

double measure_peak_gflops(Precision precision) {
  c10::InferenceMode inference;
  torch::manual_seed(0);
  const auto median_seconds = [](const std::function<void()>& work) {
    return median(sorted_milliseconds(work, 3, 15)) / 1000.0;
  };
  // The same 1024-wide product twice: through BLAS (OpenBLAS) and as a 1x1
  // convolution through oneDNN, the kernels the networks' layers use; oneDNN's
  // JIT code is the faster one on AVX-512 machines.
  const int64_t n = 1024;
  const auto type = torch::TensorOptions().dtype(scalar_type(precision));
  const torch::Tensor a = torch::randn({n, n}, type), b = torch::randn({n, n}, type);
  torch::Tensor c = torch::empty({n, n}, type);
  const double sgemm = 2.0 * n * n * n / median_seconds([&] { torch::mm_out(c, a, b); });
  const torch::Tensor x = torch::randn({1, n, 32, 32}, type).contiguous(torch::MemoryFormat::ChannelsLast);
  const torch::Tensor w = torch::randn({n, n, 1, 1}, type).contiguous(torch::MemoryFormat::ChannelsLast);
  const double conv = 2.0 * n * n * 32 * 32 / median_seconds([&] { torch::conv2d(x, w); });
  return std::max(sgemm, conv) / 1e9;
}

nlohmann::json to_json(const BenchResult& r) {
  return {{"architecture", r.architecture},
          {"input_size", r.input_size},
          {"precision", r.precision},
          {"decode_images_per_second", r.decode_images_per_second},
          {"train_loader_images_per_second", r.train_loader_images_per_second},
          {"train_tensor_images_per_second", r.train_tensor_images_per_second},
          {"loader_overhead", r.loader_overhead},
          {"latency_median_ms", r.latency_median_ms},
          {"latency_p90_ms", r.latency_p90_ms},
          {"latency_batch", r.latency_batch},
          {"batch_latency_median_ms", r.batch_latency_median_ms},
          {"multiply_adds", r.multiply_adds},
          {"train_gflops", r.train_gflops},
          {"inference_gflops", r.inference_gflops}};
}

}  // namespace pneumoscan
