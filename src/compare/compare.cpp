#include "compare/compare.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "core/atomic_file.h"
#include "core/errors.h"
#include "core/text.h"
#include "core/timing.h"
#include "distributed/sync.h"
#include "generative/codes.h"
#include "generative/latent_train.h"
#include "model_file/generative_file.h"
#include "models/complexity.h"
#include "train/trainer.h"

namespace pneumoscan {
namespace {

namespace fs = std::filesystem;

// The data summary an entry's model file carries; equal summaries mean equal training data.
nlohmann::json entry_data_summary(const CompareEntry& entry, const CompareOptions& options,
                                  const TrainValSplit& split) {
  nlohmann::json summary = data_summary(options.data, split);
  summary["compare_entry"] = entry.text;
  if (entry.limit > 0) summary["entry_limit"] = entry.limit;
  return summary;
}

// Whether `model_path` holds a finished model trained exactly as `config` would train it.
bool finished_with_same_settings(const std::string& model_path, const TrainConfig& config,
                                 CompareObserver& observer) {
  if (!fs::exists(model_path)) return false;
  try {
    const ModelMetadata metadata = read_model_metadata(model_path);
    const nlohmann::json& training = metadata.training;
    if (!training.contains("config") || training.at("config") != to_json(config)) return false;
    if (!training.contains("data")) return false;
    for (const auto& item : config.data_summary.items())
      if (!training.at("data").contains(item.key()) || training.at("data").at(item.key()) != item.value())
        return false;
    return true;
  } catch (const Error& e) {
    observer.on_warning(std::string(e.what()) + "; training again");
    return false;
  }
}

// Trains an entry's model: on images, or for latent-cnn on its autoencoder codes.
void train_entry(const CompareEntry& entry, const TrainConfig& config, const std::vector<Sample>& train,
                 const std::vector<Sample>& val, const std::string& model_path, bool resume,
                 CompareObserver& observer, Communicator* comm) {
  if (entry.codes_path.empty()) {
    train_model(train, val, config, model_path, resume, observer.training(), comm);
    return;
  }
  const CodeSet codes = read_codes(entry.codes_path);
  LoadedAutoencoder autoencoder = load_autoencoder(codes.autoencoder_path);
  train_latent_model(train, val, codes, entry.codes_path, autoencoder, codes.autoencoder_path, config,
                     model_path, resume, observer.training());
}

// Trains the entry unless a finished model with its settings exists; resumes from a checkpoint.
// With a communicator rank 0's files decide for every rank (the others need not share its disk).
bool train_or_reuse(const CompareEntry& entry, const TrainConfig& config, const std::vector<Sample>& train,
                    const std::vector<Sample>& val, const std::string& model_path, CompareObserver& observer,
                    Communicator* comm) {
  const bool root = comm == nullptr || comm->is_root();
  std::vector<double> decision = {0, 0};  // reuse, resume
  if (root) {
    decision[0] = finished_with_same_settings(model_path, config, observer) ? 1 : 0;
    decision[1] =
        decision[0] == 0 && fs::exists(checkpoint_path(model_path)) && !fs::exists(model_path) ? 1 : 0;
  }
  if (comm != nullptr) decision = from_root(decision, *comm);
  if (decision[0] != 0) {
    if (root) observer.on_reused(model_path);
    return true;
  }
  if (decision[1] != 0) {
    try {
      if (root) observer.on_resuming(checkpoint_path(model_path));
      train_entry(entry, config, train, val, model_path, /*resume=*/true, observer, comm);
      return false;
    } catch (const UsageError& e) {
      // A checkpoint of other settings (every rank loads rank 0's): it cannot be continued, so start over.
      if (root) observer.on_resume_refused(e.what());
    }
  }
  train_entry(entry, config, train, val, model_path, /*resume=*/false, observer, comm);
  return false;
}

std::string format_count(double value) {
  char text[32];
  if (value >= 1e9)
    std::snprintf(text, sizeof text, "%.2f G", value / 1e9);
  else if (value >= 1e6)
    std::snprintf(text, sizeof text, "%.2f M", value / 1e6);
  else if (value >= 1e3)
    std::snprintf(text, sizeof text, "%.1f k", value / 1e3);
  else
    std::snprintf(text, sizeof text, "%.0f", value);
  return text;
}

std::string fixed(double value, int digits = 4) {
  if (!std::isfinite(value)) return "n/a";
  return format_string("%.*f", digits, value);
}

std::string relative_model_path(const CompareRow& row) { return "models/" + row.entry.label + ".psmodel"; }

double seconds_per_epoch(const CompareRow& row) {
  return row.epochs_run > 0 ? row.training_seconds / row.epochs_run : 0.0;
}

}  // namespace

std::string compare_model_path(const std::string& out_dir, const std::string& label) {
  return (fs::path(out_dir) / "models" / (label + ".psmodel")).string();
}

Comparison run_comparison(const std::vector<CompareEntry>& entries, const CompareOptions& options,
                          CompareObserver* observer_in) {
  CompareObserver silent;
  CompareObserver& observer = observer_in != nullptr ? *observer_in : silent;
  if (entries.empty()) throw UsageError("compare: no architectures given");
  Communicator* comm = options.comm;
  const bool root = comm == nullptr || comm->is_root();
  if (comm != nullptr)
    for (const CompareEntry& entry : entries)
      if (!entry.codes_path.empty())
        throw UsageError("compare entry " + entry.text +
                         ": latent-cnn trains in one process; drop --world-size");
  TrainValOptions data = options.data;
  data.seed = options.base.seed;
  const TrainValSplit split = prepare_train_val(data);
  Comparison comparison;
  comparison.validation = split.how;
  comparison.train_images = split.train.size();
  comparison.val_images = split.val.size();
  if (root) observer.on_comparison_start(entries.size(), split);
  fs::create_directories(fs::path(options.out_dir) / "models");

  for (size_t i = 0; i < entries.size(); ++i) {
    const CompareEntry& entry = entries[i];
    CompareRow row;
    row.entry = entry;
    row.model_path = compare_model_path(options.out_dir, entry.label);
    TrainConfig config = entry.config;
    if (config.model_name.empty()) config.model_name = "pneumoscan-" + entry.label;
    config = completed(config);  // as train_model stores it, so that a finished model is recognised
    config.data_summary = entry_data_summary(entry, options, split);
    const std::vector<Sample> train =
        entry.limit > 0 ? stratified_subset(split.train, entry.limit, config.seed) : split.train;
    if (root) observer.on_entry_start(i, entries.size(), entry, config, train.size());
    row.reused = train_or_reuse(entry, config, train, split.val, row.model_path, observer, comm);
    if (!root) continue;  // rank 0 evaluates and writes

    LoadedModel model = load_model(row.model_path, c10::Device(config.device));
    const nlohmann::json& training = model.metadata.training;
    row.epochs_run = training.value("epochs_run", 0);
    row.best_epoch = training.value("best_epoch", 0);
    row.training_seconds = training.value("training_seconds", 0.0);
    row.input_size = model.metadata.spec.input_size;
    row.parameters = count_parameters(*model.net);
    row.multiply_adds = count_multiply_adds(*model.net, model.metadata.spec.in_channels, row.input_size);
    try {
      row.history = read_epoch_log(row.model_path);
    } catch (const Error& e) {
      observer.on_warning(std::string(e.what()) + " (no training curves for " + entry.label + ")");
    }
    observer.on_evaluate_progress(0, split.val.size());
    EvaluateOptions evaluate_options;
    evaluate_options.batch_size = config.batch_size;
    evaluate_options.threads = options.threads;
    Evaluation evaluation = evaluate_model(
        model, split.val, evaluate_options,
        [&observer](size_t done, size_t total) { observer.on_evaluate_progress(done, total); });
    for (const auto& failure : evaluation.failures) observer.on_warning("skipped " + failure);
    row.metrics = evaluation.metrics;
    row.probabilities = std::move(evaluation.probabilities);
    row.labels = std::move(evaluation.labels);
    observer.on_entry_done(i, entries.size(), row);
    comparison.rows.push_back(std::move(row));
  }

  if (!root) return comparison;
  const std::string md = (fs::path(options.out_dir) / "comparison.md").string();
  const std::string csv = (fs::path(options.out_dir) / "comparison.csv").string();
  write_file_atomically(md, comparison_markdown(comparison, options));
  write_file_atomically(csv, comparison_csv(comparison));
  comparison.written = {md, csv};
  if (options.plots) {
    const auto report = write_comparison_report(comparison, options);
    comparison.written.insert(comparison.written.end(), report.begin(), report.end());
  }
  return comparison;
}

namespace {

std::vector<std::string> preamble(const Comparison& comparison, const CompareOptions& options) {
  const TrainConfig& base = options.base;
  std::ostringstream data, budget;
  data << "Written " << utc_now(UtcFormat::kReadable) << ". Data: " << options.data.data << "; "
       << comparison.train_images << " training images, the same " << comparison.val_images
       << " validation images for every model (" << comparison.validation << "). Seed " << base.seed << ".";
  budget << "Command-wide budget: "
         << (base.spec.input_size > 0 ? std::to_string(base.spec.input_size) + " px"
                                      : std::string("default size"))
         << ", up to " << base.epochs << " epochs (early stopping after " << base.early_stopping_patience
         << "), batch " << base.batch_size << ", lr " << base.learning_rate
         << (options.data.limit > 0 ? ", limit " + std::to_string(options.data.limit) + " training images"
                                    : "")
         << ". An 'own' budget says where an entry trained with another image size, number of epochs or "
            "number of "
            "images than that, so that row is not a like-for-like comparison; other per-entry settings "
            "follow it.";
  const std::string metrics =
      "Metrics on the validation images at each model's own threshold (the highest one whose sensitivity on "
      "these images is >= " +
      fixed(base.target_sensitivity, 2) +
      "). Multiply-adds: one forward pass at the model's image size. Training time: the epochs only (image "
      "decoding excluded).";
  return {data.str(), budget.str(), metrics};
}

}  // namespace

Table comparison_table(const Comparison& comparison) {
  Table table;
  table.header = {"label",
                  "architecture",
                  "image size",
                  "budget",
                  "epochs (run/max)",
                  "best epoch",
                  "parameters",
                  "multiply-adds",
                  "training time",
                  "per epoch",
                  "accuracy",
                  "precision",
                  "recall (sensitivity)",
                  "specificity",
                  "F1",
                  "ROC AUC",
                  "PR AUC",
                  "threshold",
                  "model file"};
  table.link_column = static_cast<int>(table.header.size()) - 1;
  for (const CompareRow& row : comparison.rows) {
    const BinaryMetrics& m = row.metrics;
    std::string budget = row.entry.budget.empty() ? "full" : "own: " + join(row.entry.budget, ", ");
    if (!row.entry.settings.empty()) budget += "; " + join(row.entry.settings, ", ");
    table.rows.push_back(
        {row.entry.label, row.entry.config.spec.architecture, std::to_string(row.input_size), budget,
         std::to_string(row.epochs_run) + "/" + std::to_string(row.entry.config.epochs),
         std::to_string(row.best_epoch), format_count(static_cast<double>(row.parameters)),
         format_count(static_cast<double>(row.multiply_adds)), format_duration(row.training_seconds),
         format_duration(seconds_per_epoch(row)), fixed(m.accuracy), fixed(m.precision), fixed(m.recall),
         fixed(m.specificity), fixed(m.f1), fixed(m.roc_auc), fixed(m.pr_auc), fixed(m.threshold),
         relative_model_path(row)});
  }
  return table;
}

std::string comparison_markdown(const Comparison& comparison, const CompareOptions& options) {
  std::ostringstream md;
  md << "# Architecture comparison\n\n";
  for (const auto& paragraph : preamble(comparison, options)) md << paragraph << "\n\n";
  md << markdown_table(comparison_table(comparison));
  return md.str();
}

std::vector<std::string> write_comparison_report(const Comparison& comparison,
                                                 const CompareOptions& options) {
  const std::string plots = (fs::path(options.out_dir) / "plots").string();
  std::vector<ReportSection> sections;
  std::vector<ScoredSet> all;
  for (const CompareRow& row : comparison.rows)
    all.push_back({row.entry.label, row.probabilities, row.labels});
  ReportSection overview{"All models", {}};
  const std::string roc_all = (fs::path(plots) / "all_roc.png").string();
  const std::string pr_all = (fs::path(plots) / "all_pr.png").string();
  plot_roc(roc_all, "ROC curves on the shared validation images", all);
  plot_precision_recall(pr_all, "Precision-recall curves on the shared validation images", all);
  overview.plots = {{roc_all, "ROC curves of all models"}, {pr_all, "Precision-recall curves of all models"}};
  sections.push_back(overview);
  for (const CompareRow& row : comparison.rows) {
    ReportSection section{row.entry.label + " (" + row.entry.config.spec.architecture + ")", {}};
    section.plots = write_training_plots(plots, row.entry.label, row.entry.label, row.history);
    const auto evaluation =
        write_evaluation_plots(plots, row.entry.label, row.entry.label,
                               {row.entry.label, row.probabilities, row.labels}, row.metrics);
    section.plots.insert(section.plots.end(), evaluation.begin(), evaluation.end());
    sections.push_back(section);
  }
  const std::string report = (fs::path(options.out_dir) / "report.html").string();
  write_html_report(report, "Architecture comparison", preamble(comparison, options),
                    comparison_table(comparison), sections);
  std::vector<std::string> written;
  for (const auto& section : sections)
    for (const auto& plot : section.plots) written.push_back(plot.path);
  written.push_back(report);
  return written;
}

std::string comparison_csv(const Comparison& comparison) {
  std::ostringstream csv;
  csv << "label,architecture,image_size,budget,settings,epochs_run,max_epochs,best_epoch,parameters,"
         "multiply_adds,training_seconds,seconds_per_epoch,accuracy,precision,recall,specificity,f1,roc_auc,"
         "pr_auc,threshold,model\n";
  for (const CompareRow& row : comparison.rows) {
    const BinaryMetrics& m = row.metrics;
    char numbers[512];
    std::snprintf(numbers, sizeof numbers, "%.2f,%.2f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f",
                  row.training_seconds, seconds_per_epoch(row), m.accuracy, m.precision, m.recall,
                  m.specificity, m.f1, m.roc_auc, m.pr_auc, m.threshold);
    csv << csv_field(row.entry.label) << "," << row.entry.config.spec.architecture << "," << row.input_size
        << "," << csv_field(row.entry.budget.empty() ? "full" : "own: " + join(row.entry.budget, "; ")) << ","
        << csv_field(join(row.entry.settings, "; ")) << "," << row.epochs_run << ","
        << row.entry.config.epochs << "," << row.best_epoch << "," << row.parameters << ","
        << row.multiply_adds << "," << numbers << "," << csv_field(relative_model_path(row)) << "\n";
  }
  return csv.str();
}

}  // namespace pneumoscan
