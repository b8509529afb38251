// pneumoscan info: a model file's metadata (architecture, preprocessing,
// threshold, training summary and validation figures; for an autoencoder or
// DCGAN generator its network and training) as JSON, after loading it in
// full: a damaged file fails here as it would in predict.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "core/json_text.h"
#include "infer/predictor.h"
#include "model_file/generative_file.h"
#include "model_file/model_file.h"

namespace pneumoscan::cli {
namespace {

std::function<int()> add_info(CLI::App& app) {
  auto model = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand(
      "info", "Print a model file's metadata as JSON (classifiers, autoencoders, DCGAN generators)");
  add_model_option(cmd, *model);
  return [model] {
    const std::string path = model_or_default(*model);
    if (!generative_kind(path).empty()) {
      std::printf("%s\n", json_text(generative_info(path), 2).c_str());
      return 0;
    }
    const LoadedModel loaded = load_model(path);
    nlohmann::json out = to_json(loaded.metadata);
    out["integrity"] = loaded.integrity_warning.empty()
                           ? nlohmann::json{{"verified", true}, {"checksum", loaded.checksum}}
                           : nlohmann::json{{"verified", false}, {"warning", loaded.integrity_warning}};
    std::printf("%s\n", json_text(out, 2).c_str());
    return 0;
  };
}

}  // namespace

PNEUMOSCAN_COMMAND(info, add_info);

}  // namespace pneumoscan::cli
