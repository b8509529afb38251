#pragma once
// The console side of `pneumoscan compare`: the comparison's events as lines
// on stdout (warnings on stderr), and each entry's training as TrainPrinter
// prints it.
#include <string>

#include "cli/train_printer.h"
#include "compare/compare.h"

namespace pneumoscan::cli {

class ComparePrinter : public CompareObserver {
 public:
  ComparePrinter(bool show_progress, std::string exclude_qc)
      : train_(show_progress), exclude_qc_(std::move(exclude_qc)) {}

  void on_comparison_start(size_t entries, const TrainValSplit& split) override;
  void on_entry_start(size_t index, size_t count, const CompareEntry& entry, const TrainConfig& config,
                      size_t train_images) override;
  void on_reused(const std::string& model_path) override;
  void on_resuming(const std::string& checkpoint) override;
  void on_resume_refused(const std::string& reason) override;
  void on_warning(const std::string& message) override;
  void on_entry_done(size_t index, size_t count, const CompareRow& row) override;

  TrainObserver* training() override { return &train_; }

 private:
  TrainPrinter train_;
  std::string exclude_qc_;
};

}  // namespace pneumoscan::cli
