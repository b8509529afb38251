// pneumoscan predict: P(pneumonia) and a label for each X-ray file.
#include <cstdio>
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "core/errors.h"
#include "infer/predictor.h"

namespace pneumoscan::cli {
namespace {

struct PredictArgs {
  std::string model;
  std::vector<std::string> files;
  bool json = false;
};

int run_predict(PredictArgs& args) {
  Predictor predictor(args.model.empty() ? default_model_path() : args.model);
  int failures = 0;
  nlohmann::json results = nlohmann::json::array();
  for (const std::string& file : args.files) {
    try {
      const Prediction p = predictor.predict_file(file);
      if (args.json) {
        results.push_back({{"file", p.path},
                           {"probability", p.probability},
                           {"label", p.label},
                           {"threshold", p.threshold},
                           {"milliseconds", p.milliseconds}});
      } else {
        std::printf("%s\t%s\tp(pneumonia)=%.4f\tthreshold=%.4f\n", p.path.c_str(), p.label.c_str(), p.probability,
                    p.threshold);
      }
    } catch (const Error& e) {
      ++failures;
      std::cerr << "error: " << e.what() << "\n";
      if (args.json) results.push_back({{"file", file}, {"error", e.what()}});
    }
  }
  if (args.json) {
    const nlohmann::json output = {{"model", predictor.metadata().name},
                                   {"architecture", predictor.metadata().spec.architecture},
                                   {"predictions", results}};
    std::printf("%s\n", output.dump(2).c_str());
  }
  return failures == 0 ? 0 : 2;
}

std::function<int()> add_predict(CLI::App& app) {
  auto args = std::make_shared<PredictArgs>();
  CLI::App* cmd = app.add_subcommand(
      "predict", "Diagnose X-ray files (PNG, JPEG, DICOM). Exit code 2 when any file failed");
  cmd->add_option("--model", args->model, "Model file (default: the bundled model)");
  cmd->add_flag("--json", args->json, "Print JSON instead of one line per file");
  cmd->add_option("files", args->files, "X-ray files")->required();
  return [args] { return run_predict(*args); };
}

}  // namespace

PNEUMOSCAN_COMMAND(predict, add_predict);

}  // namespace pneumoscan::cli
