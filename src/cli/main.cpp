// pneumoscan: the command-line front end. Parses flags, runs the chosen
// subcommand, and turns library errors into one-line messages.
#include <c10/util/Exception.h>

#include <iostream>
#include <map>
#include <memory>

#include "cli/command.h"
#include "core/errors.h"
#include "core/runtime.h"
#include "core/text.h"

namespace pneumoscan::cli {
namespace {
std::map<std::string, CommandFactory>& registry() {
  static std::map<std::string, CommandFactory> commands;
  return commands;
}
}  // namespace

CommandRegistrar::CommandRegistrar(const std::string& name, CommandFactory factory) {
  registry().emplace(name, std::move(factory));
}

CommonOptions& common_options() {
  static CommonOptions options;
  return options;
}

CLI::Option* add_model_option(CLI::App* command, std::string& path, const std::string& what) {
  return command->add_option("--model", path, what + " (default: the bundled model)");
}

CLI::Option* add_precision_option(CLI::App* command, Precision& precision, const std::string& what) {
  // core/precision.h's parse_precision is the one list of names: the check
  // reports its message, the callback stores its result.
  const auto problem = [](const std::string& text) {
    try {
      parse_precision(text);
      return std::string();
    } catch (const UsageError& e) {
      return std::string(e.what());
    }
  };
  return command
      ->add_option_function<std::string>(
          "--precision", [&precision](const std::string& text) { precision = parse_precision(text); },
          (what.empty() ? std::string("Inference number format") : what) +
              ": fp32 (default) or bf16 (CPUs with AVX512-BF16 or AMX; faster, figures differ slightly: "
              "README \"Performance\")")
      ->check(CLI::Validator(problem, "fp32|bf16"))
      ->option_text("fp32|bf16");
}

}  // namespace pneumoscan::cli

int main(int argc, char** argv) {
  using namespace pneumoscan;
  tune_allocator();  // before any tensor exists
  CLI::App app{"PneumoScan: pneumonia detection on chest X-rays with CNNs"};
  app.set_version_flag(
      "--version", std::string("pneumoscan ") + PNEUMOSCAN_VERSION + " (malloc: " + allocator_name() + ")");
  app.require_subcommand(1);
  app.fallthrough();
  app.add_option("--threads", cli::common_options().threads, "CPU threads for tensor work (0 = all cores)")
      ->check(CLI::NonNegativeNumber);
  std::string cache_dir;
  app.add_option("--cache-dir", cache_dir,
                 "Keep decoded, resized images here so later runs over the same files skip decoding "
                 "(or set PNEUMOSCAN_CACHE_DIR; README \"Performance\")");

  std::map<CLI::App*, std::function<int()>> runners;
  for (auto& [name, factory] : cli::registry()) {
    (void)name;
    std::function<int()> run = factory(app);
    runners.emplace(app.get_subcommands({}).back(), std::move(run));
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  set_threads(cli::common_options().threads);
  if (!cache_dir.empty()) setenv("PNEUMOSCAN_CACHE_DIR", cache_dir.c_str(), 1);  // read by data/image_store
  std::string command;
  try {
    for (auto& [sub, run] : runners)
      if (sub->parsed()) {
        command = sub->get_name();
        return run();
      }
  } catch (const Error& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  } catch (const std::bad_alloc&) {
    std::cerr << "error: " << command << ": out of memory\n";
    return 1;
  } catch (const c10::Error& e) {
    // What no typed error caught is a fault of the program, not of the input: said so, in one line,
    // without LibTorch's backtrace.
    std::cerr << "error: " << command
              << ": internal error (please report it): " << quoted_excerpt(e.what_without_backtrace(), 300)
              << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "error: " << command
              << ": internal error (please report it): " << quoted_excerpt(e.what(), 300) << "\n";
    return 1;
  }
  return 1;
}
