#pragma once
// Each subcommand lives in its own cmd_*.cpp and registers itself here; the
// front ends only parse flags and call the library.
#include <CLI/CLI.hpp>
#include <functional>
#include <string>

#include "core/precision.h"

namespace pneumoscan::cli {

// Adds a subcommand to `app`; returns the function to run when it is chosen.
// The function returns the process exit code.
using CommandFactory = std::function<std::function<int()>(CLI::App& app)>;

struct CommandRegistrar {
  CommandRegistrar(const std::string& name, CommandFactory factory);
};

// Options every subcommand shares.
struct CommonOptions {
  int threads = 0;  // 0 = one per core
};
CommonOptions& common_options();

// The --model option of a command that falls back on the bundled model when
// it is absent (resolve it with infer/predictor.h's model_or_default).
CLI::Option* add_model_option(CLI::App* command, std::string& path, const std::string& what = "Model file");

// The --precision option (core/precision.h): fp32 (default) or bf16.
// `what`: the help text's start (default: inference's).
CLI::Option* add_precision_option(CLI::App* command, Precision& precision, const std::string& what = "");
// `what` for the commands that train.
inline constexpr const char* kTrainingPrecisionHelp =
    "Training arithmetic (bf16: mixed precision under autocast, float32 weights; validation and the "
    "threshold in "
    "float32)";

}  // namespace pneumoscan::cli

#define PNEUMOSCAN_COMMAND(name, factory) \
  static const ::pneumoscan::cli::CommandRegistrar pneumoscan_command_registrar_##name(#name, factory)
