// pneumoscan explain: Grad-CAM / Grad-CAM++ / saliency heatmaps for X-ray files.
#include <cstdio>
#include <iostream>

#include "cli/command.h"
#include "core/errors.h"
#include "explain/box_labels.h"
#include "explain/box_scores.h"
#include "explain/explain_file.h"
#include "infer/predictor.h"
#include "models/ensemble.h"

namespace pneumoscan::cli {
namespace {

struct ExplainArgs {
  std::string model;
  std::string method = "gradcam";
  std::string target = "pneumonia";
  std::string out;
  double alpha = 0.4;
  int member = -1;
  std::string boxes;
  std::vector<std::string> files;
  Precision precision = Precision::kFloat32;
};

int run_explain(ExplainArgs& args) {
  const ExplainMethod method = explain_method_from_string(args.method);
  if (args.target != "pneumonia" && args.target != "normal")
    throw UsageError("unknown --target '" + args.target + "' (expected pneumonia or normal)");
  const int target = args.target == "pneumonia" ? kTargetPneumonia : kTargetNormal;
  PredictorOptions options;
  options.precision = args.precision;
  Predictor predictor(model_or_default(args.model), options);
  if (args.member >= 0)
    ensemble_member(predictor.net(), args.member);  // refuse a bad --member before any file
  const BoxLabels labels = args.boxes.empty() ? BoxLabels() : read_box_labels(args.boxes);
  BoxScoreSummary summary;
  int failures = 0;
  for (const std::string& file : args.files) {
    try {
      const Image image = decode_image(file);
      const ExplanationFiles written =
          write_explanation(predictor, image, file, method, target, args.out, args.alpha, args.member);
      std::printf("%s\tp(pneumonia)=%.4f\t%s\t%s\t%s", file.c_str(), written.heatmap.probability,
                  written.heatmap.method.c_str(), written.overlay_path.c_str(), written.heatmap_path.c_str());
      if (!args.boxes.empty()) {
        const auto found = labels.find(image_stem(file));
        if (found == labels.end()) {
          std::printf("\tnot in the box file");
        } else if (found->second.empty()) {
          std::printf("\tno boxes");
        } else {
          const BoxScore score =
              score_heatmap(written.heatmap.map, cv::Size(image.width(), image.height()), found->second);
          summary.add(score);
          std::printf("\t%s mass_inside=%.3f box_share=%.3f", score.hit ? "hit" : "miss", score.mass_inside,
                      score.area_share);
        }
      }
      std::printf("\n");
    } catch (const Error& e) {
      ++failures;
      std::cerr << "error: " << e.what() << "\n";
    }
  }
  if (!args.boxes.empty())
    std::printf(
        "pointing game: %d of %d maxima inside a box; heatmap mass inside the boxes %.3f (the boxes "
        "cover %.3f of the images)\n",
        summary.hits, summary.cases, summary.mean_mass_inside(), summary.mean_area_share());
  return failures == 0 ? 0 : 2;
}

std::function<int()> add_explain(CLI::App& app) {
  auto args = std::make_shared<ExplainArgs>();
  CLI::App* cmd = app.add_subcommand(
      "explain",
      "Heatmaps of what drove the model's output, written as OUT/<stem>.overlay.png (colour overlay) and "
      "OUT/<stem>.heatmap.png (16-bit map), on the last convolutional feature map. Exit code 2 when any file "
      "failed");
  add_model_option(cmd, args->model);
  add_precision_option(cmd, args->precision);
  cmd->add_option("--method", args->method, "gradcam, gradcam++ or saliency")->capture_default_str();
  cmd->add_option("--target", args->target, "Class to explain: pneumonia or normal")->capture_default_str();
  cmd->add_option("--alpha", args->alpha, "Overlay opacity of the heatmap")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--member", args->member,
                  "Ensembles: explain member I (0-based) alone, its own P(pneumonia) printed; default: all "
                  "members' evidence together")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option(
      "--boxes", args->boxes,
      "CSV of boxes drawn on the images (patientId,x,y,width,height[,Target], RSNA's layout; rows "
      "matched to files by stem): scores each heatmap (is its maximum inside a box, its mass "
      "inside the boxes) and prints the pointing game over the files with boxes");
  cmd->add_option("--out", args->out, "Output folder (created when missing)")->required();
  cmd->add_option("files", args->files, "X-ray files")->required();
  return [args] { return run_explain(*args); };
}

}  // namespace

PNEUMOSCAN_COMMAND(explain, add_explain);

}  // namespace pneumoscan::cli
