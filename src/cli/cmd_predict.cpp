// pneumoscan predict: P(pneumonia) and a label for each X-ray file.
#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "case/case_analyzer.h"
#include "cli/command.h"
#include "core/errors.h"
#include "core/json_text.h"
#include "core/text.h"
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
  bool no_tta = false;
  Precision precision = Precision::kFloat32;
};

// Exit codes: 0 every file diagnosed; 3 some refused by the input gate (none failed); 2 some failed.
constexpr int kExitRefused = 3;

std::string uncertainty_text(const Uncertainty& u) {
  return format_string("P(pneumonia) ranges %.3f-%.3f over %d %s%s", u.low, u.high, u.samples,
                       u.method == "ensemble" ? "ensemble members" : "test-time augmentations",
                       u.uncertain ? ": uncertain, the range straddles the threshold" : "");
}

int run_predict(PredictArgs& args) {
  CaseAnalyzerOptions options;
  options.model_path = args.model;
  options.index_path = args.similar_index;
  options.test_time_augmentation = !args.no_tta;
  options.precision = args.precision;
  CaseAnalyzer analyzer(options);
  CaseRequest request;
  if (!args.explain_dir.empty() || !args.report_dir.empty())
    request.explain = explain_method_from_string(args.method);
  request.similar_k = args.similar_index.empty() ? 0 : args.k;
  // Heatmaps and reports are drawn on the full-size image; a diagnosis alone
  // needs no more pixels than the model's input.
  const bool full_size = !args.explain_dir.empty() || !args.report_dir.empty();
  const DecodeOptions decode = full_size ? DecodeOptions{} : analyzer.decode_options();
  int failures = 0, refusals = 0;
  nlohmann::json results = nlohmann::json::array();
  for (const std::string& file : args.files) {
    try {
      const Stopwatch stopwatch;
      const Image image = decode_image(file, decode);  // decoded once, for the analysis and the report
      request.name = file;
      const CaseResult result = analyzer.analyse(image, request);
      ExplanationFiles explained;
      if (result.heatmap && !args.explain_dir.empty())
        explained = write_explanation_files(*result.heatmap, image, file, args.explain_dir);
      std::string report_path;
      if (result.prediction && !args.report_dir.empty()) {
        CaseReport report;
        report.source_path = file;
        report.image = &image;
        report.prediction = *result.prediction;
        report.model_name = result.provenance.model_name;
        report.architecture = result.provenance.architecture;
        report.heatmap01 = result.heatmap->map;
        report.heatmap_method = result.heatmap->method;
        if (result.uncertainty) report.uncertainty = uncertainty_text(*result.uncertainty);
        for (const GateReason& reason : result.gate.reasons) report.gate_warnings.push_back(reason.message);
        report.similar_requested = result.similar_requested;
        report.similar = result.similar;
        report_path = write_case_report(report, args.report_dir);
      }
      if (result.refused()) ++refusals;
      if (args.json) {
        nlohmann::json json = to_json(result);
        json["milliseconds"] = stopwatch.milliseconds();
        if (!explained.overlay_path.empty()) {
          json["overlay"] = explained.overlay_path;
          json["heatmap"] = explained.heatmap_path;
        }
        if (result.similar_requested && result.prediction) {
          json["similar"] = nlohmann::json::array();
          for (const SimilarCase& c : result.similar) json["similar"].push_back(to_json(c));
        }
        if (!report_path.empty()) json["report"] = report_path;
        results.push_back(json);
      } else {
        std::string line = to_text(result);
        if (!explained.overlay_path.empty())
          line += "\t" + explained.overlay_path + "\t" + explained.heatmap_path;
        if (!report_path.empty()) line += "\t" + report_path;
        std::printf("%s\n", line.c_str());
        for (size_t i = 0; i < result.similar.size(); ++i)
          std::printf("  similar %s\n", to_text(result.similar[i], static_cast<int>(i + 1)).c_str());
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
    const nlohmann::json output = {{"model", analyzer.metadata().name},
                                   {"architecture", architecture_summary(analyzer.metadata())},
                                   {"provenance", to_json(analyzer.provenance())},
                                   {"predictions", results}};
    std::printf("%s\n", json_text(output, 2).c_str());
  }
  return failures > 0 ? 2 : refusals > 0 ? kExitRefused : 0;
}

std::function<int()> add_predict(CLI::App& app) {
  auto args = std::make_shared<PredictArgs>();
  CLI::App* cmd = app.add_subcommand("predict",
                                     "Diagnose X-ray files (PNG, JPEG, DICOM). Exit code 3 when the input "
                                     "check refused a file, 2 when any failed");
  add_model_option(cmd, args->model);
  add_precision_option(cmd, args->precision);
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
  cmd->add_flag("--no-tta", args->no_tta,
                "Single networks: one forward pass per file instead of five (no test-time-augmentation "
                "range); ensembles take their range from the members either way");
  cmd->add_option("files", args->files, "X-ray files")->required();
  return [args] { return run_predict(*args); };
}

}  // namespace

PNEUMOSCAN_COMMAND(predict, add_predict);

}  // namespace pneumoscan::cli
