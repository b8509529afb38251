#pragma once
// The console side of training: the trainer's events (train/observer.h) as
// the lines `pneumoscan train` prints on stdout (warnings on stderr), with
// progress bars on stderr when it is a terminal.
#include <cstdio>
#include <memory>
#include <string>

#include "cli/progress.h"
#include "train/observer.h"

namespace pneumoscan::cli {

class TrainPrinter : public TrainObserver {
 public:
  explicit TrainPrinter(bool show_progress) : show_progress_(show_progress) {}

  void on_pretrained_imported(const std::string& path, const std::string& report) override;
  void on_decode_progress(const std::string& what, size_t done, size_t total) override;
  void on_decoded(const std::string& what, size_t images, const std::vector<std::string>& failures,
                  double seconds) override;
  void on_train_start(const TrainStart& start) override;
  void on_resumed(const std::string& checkpoint, int epochs_completed) override;
  void on_epoch_start(int epoch, int epochs, size_t steps) override;
  void on_features_unfrozen(int epoch, int64_t parameters, double learning_rate) override;
  void on_step(const TrainStep& step) override;
  void on_learning_rate_cut(int patience, double learning_rate) override;
  void on_epoch_end(const EpochRecord& record, int epochs) override;
  void on_early_stop(int patience, int best_epoch) override;

 private:
  void finish_bar();
  bool show_progress_;
  std::unique_ptr<ProgressBar> bar_;
};

// "excluded N images flagged by FILE" when a QC exclusion list was given.
void print_qc_exclusions(size_t excluded, const std::string& exclude_qc);

}  // namespace pneumoscan::cli
