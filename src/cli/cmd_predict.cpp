// pneumoscan predict: P(pneumonia) and a label for each X-ray file.
#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "core/errors.h"
#include "core/json_text.h"
#include "core/timing.h"
#include "explain/explain_file.h"
#include "infer/predictor.h"
#include "report/case_report.h"
#include "search/similar_cases.h"

namespace pneumoscan::cli {
namespace {

struct PredictArgs {
  std::string model;
  std::vector<std::string> files;
  bool json = false;
  std::string explain_dir;  // "" = no heatmaps
  std::string method = "gradcam";
  std::string similar_index;  // "" = no similar cases
  int64_t k = 5;
  std::string report_dir;  // "" = no HTML reports
};

int run_predict(PredictArgs& args) {
  const ExplainMethod method = explain_method_from_string(args.method);
  const std::string model_path = model_or_default(args.model);
  Predictor predictor(model_path);
  std::unique_ptr<CaseFinder> finder;
  if (!args.similar_index.empty())
    finder = std::make_unique<CaseFinder>(args.similar_index, predictor, model_path);
  int failures = 0;
  nlohmann::json results = nlohmann::json::array();
  for (const std::string& file : args.files) {
    try {
      const Stopwatch stopwatch;
      const Image image = decode_image(file);  // decoded once, for the prediction and the heatmap
      Prediction p = predictor.predict_image(image, file);
      p.milliseconds = stopwatch.milliseconds();
      // Heatmaps explain the predicted class.
      const int target = p.probability >= p.threshold ? kTargetPneumonia : kTargetNormal;
      ExplanationFiles explained;
      if (!args.explain_dir.empty())
        explained = write_explanation(predictor, image, file, method, target, args.explain_dir);
      std::vector<SimilarCase> similar;
      if (finder) similar = finder->find(image, file, args.k);
      std::string report_path;
      if (!args.report_dir.empty()) {
        CaseReport report;
        report.source_path = file;
        report.image = &image;
        report.prediction = p;
        report.model_name = predictor.metadata().name;
        report.architecture = predictor.metadata().spec.architecture;
        report.heatmap01 = args.explain_dir.empty()
                               ? explain(predictor.net(), predictor.input_tensor(image), method, target).map
                               : explained.heatmap.map;
        report.heatmap_method = to_string(method);
        report.similar_requested = finder != nullptr;
        report.similar = similar;
        report_path = write_case_report(report, args.report_dir);
      }
      if (args.json) {
        nlohmann::json result = {{"file", p.path},
                                 {"probability", p.probability},
                                 {"label", p.label},
                                 {"threshold", p.threshold},
                                 {"milliseconds", p.milliseconds}};
        if (!p.type_probabilities.empty()) {
          result["type"] = p.pneumonia_type;
          result["type_probabilities"] = nlohmann::json::object();
          for (const auto& [name, probability] : p.type_probabilities) result["type_probabilities"][name] = probability;
        }
        if (!args.explain_dir.empty()) {
          result["overlay"] = explained.overlay_path;
          result["heatmap"] = explained.heatmap_path;
        }
        if (finder) {
          result["similar"] = nlohmann::json::array();
          for (const SimilarCase& c : similar) result["similar"].push_back(to_json(c));
        }
        if (!report_path.empty()) result["report"] = report_path;
        if (!image.warnings.empty()) result["warnings"] = image.warnings;
        results.push_back(result);
      } else {
        std::printf("%s\t%s\tp(pneumonia)=%.4f\tthreshold=%.4f", p.path.c_str(), p.label.c_str(),
                    p.probability, p.threshold);
        if (!p.type_probabilities.empty()) {
          std::printf("\ttype=%s", p.pneumonia_type.c_str());
          for (const auto& [name, probability] : p.type_probabilities)
            std::printf("\tp(%s)=%.4f", name.c_str(), probability);
        }
        if (!args.explain_dir.empty())
          std::printf("\t%s\t%s", explained.overlay_path.c_str(), explained.heatmap_path.c_str());
        if (!report_path.empty()) std::printf("\t%s", report_path.c_str());
        std::printf("\n");
        for (size_t i = 0; i < similar.size(); ++i)
          std::printf("  similar %s\n", to_text(similar[i], static_cast<int>(i + 1)).c_str());
        for (const std::string& warning : image.warnings)
          std::cerr << "warning: " << file << ": " << warning << "\n";
      }
    } catch (const std::exception& e) {  // one bad file never costs the others their results
      ++failures;
      const std::string message =
          dynamic_cast<const Error*>(&e) != nullptr ? e.what() : file + ": internal error: " + e.what();
      std::cerr << "error: " << message << "\n";
      if (args.json) results.push_back({{"file", file}, {"error", message}});
    }
  }
  if (args.json) {
    const nlohmann::json output = {{"model", predictor.metadata().name},
                                   {"architecture", predictor.metadata().spec.architecture},
                                   {"predictions", results}};
    std::printf("%s\n", json_text(output, 2).c_str());
  }
  return failures == 0 ? 0 : 2;
}

std::function<int()> add_predict(CLI::App& app) {
  auto args = std::make_shared<PredictArgs>();
  CLI::App* cmd = app.add_subcommand(
      "predict", "Diagnose X-ray files (PNG, JPEG, DICOM). Exit code 2 when any file failed");
  add_model_option(cmd, args->model);
  cmd->add_flag("--json", args->json, "Print JSON instead of one line per file");
  cmd->add_option(
      "--explain", args->explain_dir,
      "Also write heatmaps of the predicted class to DIR/<stem>.overlay.png and DIR/<stem>.heatmap.png");
  cmd->add_option("--method", args->method,
                  "Heatmap method for --explain and --report: gradcam, gradcam++ or saliency")
      ->capture_default_str();
  cmd->add_option("--similar", args->similar_index,
                  "Also list the most similar past cases from this index (pneumoscan index build)");
  cmd->add_option("-k", args->k, "Number of similar cases with --similar")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--report", args->report_dir,
                  "Also write a self-contained HTML case report per file to DIR/<stem>.report.html");
  cmd->add_option("files", args->files, "X-ray files")->required();
  return [args] { return run_predict(*args); };
}

}  // namespace

PNEUMOSCAN_COMMAND(predict, add_predict);

}  // namespace pneumoscan::cli
