// pneumoscan evaluate: a model's clinical metrics on a labelled data set.
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/progress.h"
#include "core/atomic_file.h"
#include "core/json_text.h"
#include "data/sample.h"
#include "eval/evaluate.h"
#include "image/test_time_augmentation.h"
#include "infer/predictor.h"
#include "report/plots.h"

namespace pneumoscan::cli {
namespace {

struct EvaluateArgs {
  std::string model, data, split, json, plots;
  double threshold = -1;
  bool shifts = false, tta = false;
  Precision precision = Precision::kFloat32;
};

void print_class_report(const MulticlassMetrics& c) {
  std::printf(
      "\n%lld images of known type; predicted class = NORMAL below the threshold, else the most "
      "probable type\n%-12s",
      static_cast<long long>(c.n), "true\\pred");
  for (const auto& name : c.class_names) std::printf("%12s", name.c_str());
  std::printf("%10s\n", "recall");
  for (size_t i = 0; i < c.class_names.size(); ++i) {
    std::printf("%-12s", c.class_names[i].c_str());
    for (int64_t count : c.confusion[i]) std::printf("%12lld", static_cast<long long>(count));
    std::printf("%10.4f\n", c.recall[i]);
  }
  std::printf("accuracy %.4f  macro F1 %.4f  type accuracy among true pneumonias %.4f (%lld)\n", c.accuracy,
              c.macro_f1, c.type_accuracy, static_cast<long long>(c.type_n));
}

int run_evaluate(EvaluateArgs& args) {
  const std::string model_path = model_or_default(args.model);
  LoadedModel model = load_model(model_path);
  prepare_for_inference(*model.net, args.precision, c10::Device(c10::kCPU));  // the model is never saved
  std::vector<Sample> samples = read_dataset(args.data);
  if (!args.split.empty()) samples = select_split(samples, args.split);
  ProgressBar bar("evaluate", samples.size());  // silent unless stderr is a terminal
  EvaluateOptions options;
  options.threads = common_options().threads;
  options.threshold_override = args.threshold;
  options.with_shifts = args.shifts;
  options.test_time_augmentation = args.tta;
  Evaluation evaluation =
      evaluate_model(model, samples, options, [&](size_t done, size_t) { bar.update(done, done); });
  bar.finish();
  for (const auto& failure : evaluation.failures) std::cerr << "warning: skipped " << failure << "\n";
  const BinaryMetrics& m = evaluation.metrics;
  std::printf("model      %s (%s, %s)\n", model_path.c_str(), model.metadata.name.c_str(),
              architecture_summary(model.metadata).c_str());
  if (args.precision != Precision::kFloat32)
    std::printf("precision  %s\n", precision_name(args.precision).c_str());
  if (args.tta)
    std::printf("test-time augmentation: each probability the mean over the image and %d variants\n",
                kTtaVariants);
  std::printf("images     %lld (%zu unreadable skipped)\nthreshold  %.4f\n\n", static_cast<long long>(m.n),
              evaluation.failures.size(), m.threshold);
  std::printf("recall (sensitivity) %.4f\nspecificity          %.4f\nprecision            %.4f\n", m.recall,
              m.specificity, m.precision);
  std::printf(
      "F1                   %.4f\naccuracy             %.4f\nROC AUC              %.4f\nPR AUC               "
      "%.4f\n\n",
      m.f1, m.accuracy, m.roc_auc, m.pr_auc);
  std::printf("                 predicted NORMAL  predicted PNEUMONIA\n");
  std::printf("true NORMAL      %16lld  %19lld\n", static_cast<long long>(m.tn),
              static_cast<long long>(m.fp));
  std::printf("true PNEUMONIA   %16lld  %19lld\n", static_cast<long long>(m.fn),
              static_cast<long long>(m.tp));
  std::printf("\ncalibration: ECE (15 bins) %.4f  Brier %.4f\n",
              expected_calibration_error(evaluation.probabilities, evaluation.labels, 15),
              brier_score(evaluation.probabilities, evaluation.labels));
  if (evaluation.classes) print_class_report(*evaluation.classes);
  if (!evaluation.shifted.empty()) {
    std::printf("\nacquisition-shift proxies at threshold %.4f\n%-14s %8s %8s %8s %8s\n", m.threshold,
                "shift", "ROC AUC", "recall", "spec", "acc");
    for (const auto& [name, s] : evaluation.shifted)
      std::printf("%-14s %8.4f %8.4f %8.4f %8.4f\n", name.c_str(), s.roc_auc, s.recall, s.specificity,
                  s.accuracy);
  }
  if (!args.json.empty()) {
    nlohmann::json json = to_json(m);
    if (args.tta) json["test_time_augmentation"] = 1 + kTtaVariants;
    if (evaluation.classes) json["classes"] = to_json(*evaluation.classes);
    for (const auto& [name, s] : evaluation.shifted) json["shifts"][name] = to_json(s);
    write_file_atomically(args.json, json_text(json, 2) + "\n");
    std::printf("\nwrote %s\n", args.json.c_str());
  }
  if (!args.plots.empty()) {
    const std::string name = std::filesystem::path(model_path).stem().string();
    const std::string title = name + " on " + std::filesystem::path(args.data).filename().string() +
                              (args.split.empty() ? "" : " (" + args.split + ")");
    for (const auto& plot : write_evaluation_plots(args.plots, name, title,
                                                   {name, evaluation.probabilities, evaluation.labels}, m))
      std::printf("wrote %s\n", plot.path.c_str());
  }
  return 0;
}

std::function<int()> add_evaluate(CLI::App& app) {
  auto args = std::make_shared<EvaluateArgs>();
  CLI::App* cmd = app.add_subcommand("evaluate", "Accuracy, precision, recall, specificity, F1, ROC/PR AUC");
  add_model_option(cmd, args->model);
  add_precision_option(cmd, args->precision);
  cmd->add_option("--data", args->data, "Labelled data folder or CSV manifest")->required();
  cmd->add_option("--split", args->split, "Only this split of the data (train, val, test)");
  cmd->add_option("--threshold", args->threshold, "Override the model's stored threshold")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--json", args->json, "Write the metrics as JSON to this file");
  cmd->add_flag("--shifts", args->shifts,
                "Also evaluate acquisition-shifted copies of the data (tone curve, contrast, blur, noise, "
                "collimation, rotation, JPEG, vendor processing) at the same threshold");
  cmd->add_flag(
      "--tta", args->tta,
      "Test-time augmentation: each image's probabilities averaged over it and 4 variants (zoom, shift, "
      "two tone curves), five forward passes per image; the stored threshold is kept");
  cmd->add_option("--plots", args->plots,
                  "Folder for PNG plots: ROC, precision-recall, confusion matrix, calibration");
  return [args] { return run_evaluate(*args); };
}

}  // namespace

PNEUMOSCAN_COMMAND(evaluate, add_evaluate);

}  // namespace pneumoscan::cli
