// pneumoscan predict: P(pneumonia) and a label for each X-ray file.
#include <chrono>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "core/errors.h"
#include "explain/explain_file.h"
#include "infer/predictor.h"

namespace pneumoscan::cli {
namespace {

struct PredictArgs {
  std::string model;
  std::vector<std::string> files;
  bool json = false;
  std::string explain_dir;  // "" = no heatmaps
  std::string method = "gradcam";
};

int run_predict(PredictArgs& args) {
  const ExplainMethod method = explain_method_from_string(args.method);
  Predictor predictor(args.model.empty() ? default_model_path() : args.model);
  int failures = 0;
  nlohmann::json results = nlohmann::json::array();
  for (const std::string& file : args.files) {
    try {
      const auto start = std::chrono::steady_clock::now();
      const Image image = decode_image(file);  // decoded once, for the prediction and the heatmap
      Prediction p = predictor.predict_image(image, file);
      p.milliseconds = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
      ExplanationFiles explained;
      if (!args.explain_dir.empty()) {
        // Explains the predicted class.
        const int target = p.probability >= p.threshold ? kTargetPneumonia : kTargetNormal;
        explained = write_explanation(predictor, image, file, method, target, args.explain_dir);
      }
      if (args.json) {
        nlohmann::json result = {{"file", p.path},
                                 {"probability", p.probability},
                                 {"label", p.label},
                                 {"threshold", p.threshold},
                                 {"milliseconds", p.milliseconds}};
        if (!args.explain_dir.empty()) {
          result["overlay"] = explained.overlay_path;
          result["heatmap"] = explained.heatmap_path;
        }
        results.push_back(result);
      } else {
        std::printf("%s\t%s\tp(pneumonia)=%.4f\tthreshold=%.4f", p.path.c_str(), p.label.c_str(),
                    p.probability, p.threshold);
        if (!args.explain_dir.empty())
          std::printf("\t%s\t%s", explained.overlay_path.c_str(), explained.heatmap_path.c_str());
        std::printf("\n");
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
  cmd->add_option(
      "--explain", args->explain_dir,
      "Also write heatmaps of the predicted class to DIR/<stem>.overlay.png and DIR/<stem>.heatmap.png");
  cmd->add_option("--method", args->method, "Heatmap method for --explain: gradcam, gradcam++ or saliency")
      ->capture_default_str();
  cmd->add_option("files", args->files, "X-ray files")->required();
  return [args] { return run_predict(*args); };
}

}  // namespace

PNEUMOSCAN_COMMAND(predict, add_predict);

}  // namespace pneumoscan::cli
