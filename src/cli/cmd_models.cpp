// pneumoscan models: the architectures of the registry, their sizes, cost and speed.
#include <cstdio>

#include "cli/command.h"
#include "core/errors.h"
#include "models/complexity.h"
#include "models/generative_registry.h"
#include "models/registry.h"

namespace pneumoscan::cli {
namespace {

struct ModelsArgs {
  int64_t image_size = 0;
  bool no_timing = false;
};

// The autoencoder and the DCGAN's networks at the image sides they are built at (--image-size
// does not apply: their sides are fixed by their strides).
void print_generative_networks(const ModelsArgs& args) {
  std::printf("\ngenerative networks\n%-20s %5s %-12s %12s %9s %11s  %s\n", "name", "image", "input",
              "parameters", "MACs", "forward ms", "description");
  for (const auto& info : generative_networks())
    for (const int64_t size : info.sizes) {
      const std::shared_ptr<torch::nn::Module> net = info.create(size);
      const auto run = [&] { info.forward_probe(*net, size); };
      char timing[32] = "-";
      if (!args.no_timing)
        std::snprintf(timing, sizeof timing, "%.1f", 1e3 * measure_forward_seconds(*net, run));
      std::printf(
          "%-20s %5lld %-12s %12lld %8.3fG %11s  %s\n", info.name.c_str(), static_cast<long long>(size),
          info.input.c_str(), static_cast<long long>(count_parameters(*net)),
          1e-9 * static_cast<double>(count_multiply_adds(*net, run)), timing, info.description.c_str());
      std::fflush(stdout);
    }
}

int run_models(const ModelsArgs& args) {
  if (args.image_size != 0 && args.image_size < 32) throw UsageError("--image-size must be at least 32");
  std::printf("%-16s %5s %7s %12s %12s %14s %9s %11s  %s\n", "name", "input", "outputs", "parameters",
              "params 3/1000", "params+buffers", "MACs", "forward ms", "description");
  for (const auto& info : architectures()) {
    const int64_t size = args.image_size > 0 ? args.image_size : info.default_input_size;
    Classifier net = create_model({info.name, size});
    const int64_t imagenet_parameters = count_parameters(*create_model({info.name, size, 3, 1000}));
    char timing[32] = "-";
    if (!args.no_timing)
      std::snprintf(timing, sizeof timing, "%.1f", 1e3 * measure_forward_seconds(*net, 1, size));
    std::printf("%-16s %5lld %7lld %12lld %12lld %14lld %8.3fG %11s  %s\n", info.name.c_str(),
                static_cast<long long>(size), static_cast<long long>(info.default_num_outputs),
                static_cast<long long>(count_parameters(*net)), static_cast<long long>(imagenet_parameters),
                static_cast<long long>(count_parameters_and_buffers(*net)),
                1e-9 * static_cast<double>(count_multiply_adds(*net, 1, size)), timing,
                info.description.c_str());
    std::fflush(stdout);
  }
  std::printf(
      "\nparameters: trainable, 1-channel input and the default head; params 3/1000: with a 3-channel stem "
      "and a "
      "1000-class head (as ImageNet figures count them); params+buffers adds BatchNorm statistics (as Keras "
      "counts). MACs: multiply-adds of one 1-channel forward pass at the input size (G = 1e9). forward ms: "
      "median of 5 CPU passes at batch 1 after a warm-up.\n");
  print_generative_networks(args);
  return 0;
}

std::function<int()> add_models(CLI::App& app) {
  auto args = std::make_shared<ModelsArgs>();
  CLI::App* cmd = app.add_subcommand(
      "models",
      "List the architectures (classifiers, then the generative networks) with parameters, multiply-adds and "
      "forward time");
  cmd->add_option("--image-size", args->image_size, "Input side in pixels (0 = each architecture's default)")
      ->capture_default_str();
  cmd->add_flag("--no-timing", args->no_timing, "Skip the forward-time measurement");
  return [args] { return run_models(*args); };
}

}  // namespace

PNEUMOSCAN_COMMAND(models, add_models);

}  // namespace pneumoscan::cli
