// pneumoscan models: the architectures of the registry and their sizes.
#include <cstdio>

#include "cli/command.h"
#include "models/registry.h"

namespace pneumoscan::cli {
namespace {

int run_models() {
  std::printf("%-16s %6s %8s %14s %14s  %s\n", "name", "input", "outputs", "parameters", "params+buffers",
              "description");
  for (const auto& info : architectures()) {
    Classifier net = create_model({info.name});
    std::printf("%-16s %6lld %8lld %14lld %14lld  %s\n", info.name.c_str(),
                static_cast<long long>(info.default_input_size), static_cast<long long>(info.default_num_outputs),
                static_cast<long long>(count_parameters(*net)),
                static_cast<long long>(count_parameters_and_buffers(*net)), info.description.c_str());
  }
  std::printf("\n(1-channel input; parameters = trainable; params+buffers adds BatchNorm statistics, as Keras counts)\n");
  return 0;
}

std::function<int()> add_models(CLI::App& app) {
  app.add_subcommand("models", "List the architectures with their parameter counts");
  return [] { return run_models(); };
}

}  // namespace

PNEUMOSCAN_COMMAND(models, add_models);

}  // namespace pneumoscan::cli
