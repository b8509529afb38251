#pragma once
// `compare`: several architectures trained on one patient-grouped split with
// the same seed and budget, evaluated on the same validation images, and laid
// side by side in one table (markdown + CSV), with plots and an HTML report.
// Resumable: a finished model trained with the same settings is reused, an
// interrupted one continues from its checkpoint.
#include <string>
#include <vector>

#include "compare/entry.h"
#include "data/train_val.h"
#include "eval/evaluate.h"
#include "report/html.h"
#include "train/history.h"
#include "train/observer.h"

namespace pneumoscan {

class Communicator;  // distributed/communicator.h

struct CompareOptions {
  TrainValOptions data;  // the one split every entry shares (its seed = base.seed)
  TrainConfig base;      // command-wide training settings
  std::string out_dir;   // DIR: comparison.md/.csv, report.html, models/, plots/
  int threads = 0;       // evaluation decoding threads (0 = one per core)
  bool plots = true;
  // Data-parallel: every rank runs the comparison and trains each entry
  // together (train/trainer.h); rank 0 alone evaluates and writes, the other
  // ranks' Comparison has no rows. latent-cnn entries are refused.
  Communicator* comm = nullptr;
};

struct CompareRow {
  CompareEntry entry;
  std::string model_path;  // DIR/models/<label>.psmodel
  bool reused = false;     // finished model found with the same settings
  int64_t input_size = 0, parameters = 0, multiply_adds = 0;
  int epochs_run = 0, best_epoch = 0;
  double training_seconds = 0;  // sum of the epochs' wall times (decoding excluded)
  std::vector<EpochRecord> history;
  BinaryMetrics metrics;  // on the shared validation images at the model's threshold
  std::vector<float> probabilities;
  std::vector<int> labels;
};

struct Comparison {
  std::vector<CompareRow> rows;
  std::string validation;  // where the validation images came from
  size_t train_images = 0, val_images = 0;
  std::vector<std::string> written;  // files written (tables, plots, report)
};

// What a comparison tells the world as it goes (it prints nothing itself).
// Calls come from the thread that called run_comparison; defaults are empty.
class CompareObserver {
 public:
  virtual ~CompareObserver() = default;
  // Where each entry's training events go (nullptr: nowhere).
  virtual TrainObserver* training() { return nullptr; }
  // The shared split every entry trains and validates on.
  virtual void on_comparison_start(size_t /*entries*/, const TrainValSplit& /*split*/) {}
  // Entry `index` (0-based) of `count` starts, with its completed settings.
  virtual void on_entry_start(size_t /*index*/, size_t /*count*/, const CompareEntry& /*entry*/,
                              const TrainConfig& /*config*/, size_t /*train_images*/) {}
  // A finished model with the same settings is reused instead of training.
  virtual void on_reused(const std::string& /*model_path*/) {}
  // Training continues from an interrupted run's checkpoint...
  virtual void on_resuming(const std::string& /*checkpoint*/) {}
  // ...or cannot (other settings), and starts over.
  virtual void on_resume_refused(const std::string& /*reason*/) {}
  // Decoding the validation images to evaluate the entry's model: (done, total), from worker threads
  // (serialised), first with done = 0.
  virtual void on_evaluate_progress(size_t /*done*/, size_t /*total*/) {}
  // Something worth knowing that does not stop the comparison (an unreadable image, no curves).
  virtual void on_warning(const std::string& /*message*/) {}
  virtual void on_entry_done(size_t /*index*/, size_t /*count*/, const CompareRow& /*row*/) {}
};

// Trains (or reuses/resumes) and evaluates every entry, then writes the tables
// (and plots and report.html when options.plots). Progress goes to `observer`
// (rank 0's only, but for training, where every rank reports its own).
// Throws UsageError for no entries, and DistributedError when a peer is lost.
Comparison run_comparison(const std::vector<CompareEntry>& entries, const CompareOptions& options,
                          CompareObserver* observer = nullptr);

// The path of an entry's model file under `out_dir`.
std::string compare_model_path(const std::string& out_dir, const std::string& label);

// The table for people (formatted cells) and as markdown with its preamble,
// and as CSV (raw numbers). Paths in them are relative to the out folder.
Table comparison_table(const Comparison& comparison);
std::string comparison_markdown(const Comparison& comparison, const CompareOptions& options);
std::string comparison_csv(const Comparison& comparison);

// PNG plots under DIR/plots (per model: loss, accuracy, ROC, PR, confusion,
// calibration; all models: ROC and PR) and DIR/report.html; returns the files.
std::vector<std::string> write_comparison_report(const Comparison& comparison, const CompareOptions& options);

}  // namespace pneumoscan
