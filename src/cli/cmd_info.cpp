// pneumoscan info: a model file's metadata (architecture, preprocessing,
// threshold, training summary and validation figures) as JSON.
#include <cstdio>

#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "infer/predictor.h"
#include "model_file/model_file.h"

namespace pneumoscan::cli {
namespace {

std::function<int()> add_info(CLI::App& app) {
  auto model = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("info", "Print a model file's metadata as JSON");
  add_model_option(cmd, *model);
  return [model] {
    const std::string path = model_or_default(*model);
    std::printf("%s\n", to_json(read_model_metadata(path)).dump(2).c_str());
    return 0;
  };
}

}  // namespace

PNEUMOSCAN_COMMAND(info, add_info);

}  // namespace pneumoscan::cli
