// pneumoscan gate fit | evaluate: a model's intended use (population and the
// out-of-distribution reference) stored in its file, and how the input gate
// behaves on sets of images.
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "case/gate_evaluation.h"
#include "case/gate_fit.h"
#include "cli/command.h"
#include "cli/progress.h"
#include "core/atomic_file.h"
#include "core/errors.h"
#include "core/json_text.h"
#include "core/text.h"
#include "data/sample.h"

namespace pneumoscan::cli {
namespace {

std::vector<std::string> comma_list(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size() && !text.empty()) {
    const size_t comma = text.find(',', start);
    const std::string item =
        uppercase(text.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (!item.empty()) out.push_back(item);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

struct FitArgs {
  std::string model, data, train_split = "train", val_split = "val", out;
  std::string description, ages, modalities = "CR,DX", views = "AP,PA", body_parts = "CHEST";
  OodFitOptions options;
};

int run_fit(FitArgs& args) {
  CaseAnalyzerOptions analyzer_options;
  analyzer_options.model_path = args.model;
  CaseAnalyzer analyzer(analyzer_options);
  const std::vector<Sample> samples = read_dataset(args.data);
  const std::vector<Sample> train = select_split(samples, args.train_split);
  const std::vector<Sample> validation = select_split(samples, args.val_split);
  if (train.empty() || validation.empty())
    throw InputError(args.data,
                     "needs images in splits '" + args.train_split + "' and '" + args.val_split + "'");
  args.options.threads = common_options().threads;
  OodFit fit;
  {
    StageBars bars;
    fit = fit_ood_reference(analyzer, train, validation, args.options, std::ref(bars));
  }
  for (const std::string& failure : fit.failures) std::cerr << "warning: skipped " << failure << "\n";
  fit.description.fitted_on =
      args.data + " (reference: split " + args.train_split + ", limit: split " + args.val_split + ")";

  LoadedModel model = load_model(analyzer.model_path());
  IntendedUse& use = model.metadata.intended_use;
  use.ood = fit.description;
  use.population.description = args.description;
  if (!args.ages.empty()) use.population.age_years = parse_age_range(args.ages);
  use.population.modalities = comma_list(args.modalities);
  use.population.views = comma_list(args.views);
  use.population.body_parts = comma_list(args.body_parts);
  save_model(args.out, model.metadata, *model.net, fit.reference);
  std::printf(
      "out-of-distribution reference: %lld training images, k = %d; limit %.4f passes %s of %zu "
      "validation images (median score %.4f)\nwrote %s\n",
      static_cast<long long>(use.ood.references), use.ood.k, use.ood.limit,
      format_string("%.1f%%", 100.0 * use.ood.record.at("validation_passed").get<double>() /
                                  std::max<size_t>(1, fit.validation_scores.size()))
          .c_str(),
      fit.validation_scores.size(), use.ood.record.at("validation_median_score").get<double>(),
      args.out.c_str());
  return 0;
}

struct EvaluateArgs {
  std::string model, json_out, derive_from;
  std::vector<std::string> sets;  // NAME=PATH[@SPLIT]
  int generate = 0, derive_count = 50;
  uint64_t seed = 1;
  Precision precision = Precision::kFloat32;
};

int run_evaluate(EvaluateArgs& args) {
  CaseAnalyzerOptions analyzer_options;
  analyzer_options.model_path = args.model;
  analyzer_options.precision = args.precision;
  CaseAnalyzer analyzer(analyzer_options);
  std::vector<GateSet> sets;
  for (const std::string& spec : args.sets) {
    const size_t eq = spec.find('=');
    if (eq == std::string::npos || eq == 0)
      throw UsageError("--set expects NAME=PATH[@SPLIT], got '" + spec + "'");
    std::string path = spec.substr(eq + 1), split;
    if (const size_t at = path.rfind('@'); at != std::string::npos) {
      split = path.substr(at + 1);
      path = path.substr(0, at);
    }
    sets.push_back(files_set(spec.substr(0, eq), path, split));
  }
  if (!args.derive_from.empty()) {
    const auto source =
        std::find_if(sets.begin(), sets.end(), [&](const GateSet& s) { return s.name == args.derive_from; });
    if (source == sets.end()) throw UsageError("--derive-from names no --set: " + args.derive_from);
    for (GateSet& set : altered_xray_sets(*source, args.derive_count)) sets.push_back(std::move(set));
  }
  if (args.generate > 0)
    for (GateSet& set : generated_non_xray_sets(args.generate, args.seed)) sets.push_back(std::move(set));
  if (sets.empty()) throw UsageError("nothing to evaluate: give --set, --generate or both");

  nlohmann::json figures = nlohmann::json::array();
  for (const GateSet& set : sets) {
    GateSetFigures f;
    {
      StageBars bars;
      f = evaluate_gate_set(analyzer, set, std::ref(bars));
    }
    std::printf("%s\n", to_text(f).c_str());
    std::fflush(stdout);
    figures.push_back(to_json(f));
  }
  if (!args.json_out.empty()) {
    const nlohmann::json out = {{"model", analyzer.metadata().name},
                                {"provenance", to_json(analyzer.provenance())},
                                {"sets", figures}};
    write_file_atomically(args.json_out, json_text(out, 2) + "\n");
    std::printf("wrote %s\n", args.json_out.c_str());
  }
  return 0;
}

std::function<int()> add_gate(CLI::App& app) {
  CLI::App* gate = app.add_subcommand("gate", "The input gate: fit a model's intended use, measure the gate");
  gate->require_subcommand(1);

  auto fit = std::make_shared<FitArgs>();
  CLI::App* fit_cmd = gate->add_subcommand(
      "fit",
      "Store the population and an out-of-distribution reference (training embeddings, limit on validation) "
      "in a copy of the model file");
  add_model_option(fit_cmd, fit->model);
  fit_cmd->add_option("--data", fit->data, "Folder or manifest with training and validation splits")
      ->required();
  fit_cmd->add_option("--train-split", fit->train_split, "Split the reference images come from")
      ->capture_default_str();
  fit_cmd->add_option("--val-split", fit->val_split, "Split the limit is set on")->capture_default_str();
  fit_cmd->add_option("--out", fit->out, "Model file to write (may be the input)")->required();
  fit_cmd->add_option("--references", fit->options.references, "Training images kept as the reference")
      ->capture_default_str()
      ->check(CLI::Range(5, 100000));
  fit_cmd->add_option("-k", fit->options.k, "Neighbours averaged in the score")
      ->capture_default_str()
      ->check(CLI::Range(1, 100));
  fit_cmd->add_option("--pass-rate", fit->options.pass_rate, "Share of validation X-rays the limit passes")
      ->capture_default_str();
  fit_cmd->add_option("--seed", fit->options.seed, "Which training images form the reference")
      ->capture_default_str();
  fit_cmd->add_option("--population", fit->description,
                      "The training population in words (shown with every result)");
  fit_cmd->add_option(
      "--ages", fit->ages,
      "Age range of the population in years, e.g. 1-5 (DICOM studies outside it are refused)");
  fit_cmd->add_option("--modalities", fit->modalities, "Accepted DICOM modalities")->capture_default_str();
  fit_cmd->add_option("--views", fit->views, "Accepted DICOM view positions")->capture_default_str();
  fit_cmd->add_option("--body-parts", fit->body_parts, "Accepted DICOM body parts")->capture_default_str();

  auto evaluate = std::make_shared<EvaluateArgs>();
  CLI::App* evaluate_cmd =
      gate->add_subcommand("evaluate", "How the input gate and the uncertainty behave on sets of images");
  add_model_option(evaluate_cmd, evaluate->model);
  add_precision_option(evaluate_cmd, evaluate->precision);
  evaluate_cmd->add_option("--set", evaluate->sets,
                           "NAME=PATH[@SPLIT]: a folder (any layout), manifest or file; repeatable");
  evaluate_cmd
      ->add_option("--generate", evaluate->generate,
                   "Also make N each of noise, document and screenshot images")
      ->check(CLI::Range(0, 10000));
  evaluate_cmd->add_option("--derive-from", evaluate->derive_from,
                           "Also rotate, turn upside down, crop and invert the first images of this set");
  evaluate_cmd->add_option("--derive-count", evaluate->derive_count, "Images altered per alteration")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  evaluate_cmd->add_option("--seed", evaluate->seed, "Seed of the generated images")->capture_default_str();
  evaluate_cmd->add_option("--json", evaluate->json_out, "Also write the figures as JSON");

  return [fit, evaluate, fit_cmd, evaluate_cmd] {
    if (fit_cmd->parsed()) return run_fit(*fit);
    (void)evaluate_cmd;
    return run_evaluate(*evaluate);
  };
}

}  // namespace

PNEUMOSCAN_COMMAND(gate, add_gate);

}  // namespace pneumoscan::cli
