#include "cli/compare_printer.h"

#include <cstdio>
#include <iostream>

#include "core/text.h"
#include "core/timing.h"

namespace pneumoscan::cli {

void ComparePrinter::on_comparison_start(size_t entries, const TrainValSplit& split) {
  print_qc_exclusions(split.excluded_by_qc, exclude_qc_);
  std::printf("comparing %zu models: training on %zu images, validating on the same %zu: %s\n", entries,
              split.train.size(), split.val.size(), split.how.c_str());
}

void ComparePrinter::on_entry_start(size_t index, size_t count, const CompareEntry& entry,
                                    const TrainConfig& config, size_t train_images) {
  std::printf("\n[%zu/%zu] %s: %s at %lld px, up to %d epochs, %zu training images%s%s\n", index + 1, count,
              entry.label.c_str(), config.spec.architecture.c_str(),
              static_cast<long long>(config.spec.input_size), config.epochs, train_images,
              entry.budget.empty() ? "" : ", own budget: ", join(entry.budget, ", ").c_str());
  std::fflush(stdout);
}

void ComparePrinter::on_reused(const std::string& model_path) {
  std::printf("  reusing %s (trained with the same settings)\n", model_path.c_str());
}

void ComparePrinter::on_resuming(const std::string& checkpoint) {
  std::printf("  resuming from %s\n", checkpoint.c_str());
}

void ComparePrinter::on_resume_refused(const std::string& reason) {
  std::printf("  cannot resume (%s); training from scratch\n", reason.c_str());
}

void ComparePrinter::on_warning(const std::string& message) { std::cerr << "warning: " << message << "\n"; }

void ComparePrinter::on_entry_done(size_t index, size_t count, const CompareRow& row) {
  std::printf("[%zu/%zu] %s: %s, %d epochs in %s | ROC AUC %.4f  recall %.4f  specificity %.4f  F1 %.4f\n",
              index + 1, count, row.entry.label.c_str(), row.reused ? "reused" : "trained", row.epochs_run,
              format_duration(row.training_seconds).c_str(), row.metrics.roc_auc, row.metrics.recall,
              row.metrics.specificity, row.metrics.f1);
  std::fflush(stdout);
}

}  // namespace pneumoscan::cli
