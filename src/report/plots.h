#pragma once
// PNG plots (PLplot, cairo) of training and evaluation, meant to be looked at:
// titles, axis labels, legends, grid, ~800x600. Every file is written
// atomically. Thread-safe (PLplot's global state is guarded by one mutex).
#include <string>
#include <vector>

#include "eval/metrics.h"
#include "train/history.h"

namespace pneumoscan {

// One model's scores on a labelled set (1 = pneumonia), for curves that overlay models.
struct ScoredSet {
  std::string name;
  std::vector<float> probabilities;
  std::vector<int> labels;
};

// Training and validation loss per epoch (best epoch marked). UsageError on an empty history.
void plot_loss_curves(const std::string& path, const std::string& title,
                      const std::vector<EpochRecord>& history);
// Training and validation accuracy per epoch, with validation ROC AUC.
void plot_accuracy_curves(const std::string& path, const std::string& title,
                          const std::vector<EpochRecord>& history);
// ROC curves (AUC in the legend) with the chance diagonal; sets lacking a class are left out.
void plot_roc(const std::string& path, const std::string& title, const std::vector<ScoredSet>& sets);
// Precision-recall curves (average precision in the legend) with the prevalence line of the first set.
void plot_precision_recall(const std::string& path, const std::string& title,
                           const std::vector<ScoredSet>& sets);
// 2x2 confusion matrix: cells coloured by the share of their true class, with counts and percentages.
void plot_confusion_matrix(const std::string& path, const std::string& title, const BinaryMetrics& metrics);
// Reliability curve (observed pneumonia rate per predicted-probability bin) with the diagonal, Brier and ECE.
void plot_calibration(const std::string& path, const std::string& title, const ScoredSet& set, int bins = 10);

// A written plot: the file and a caption saying what it shows.
struct PlotFile {
  std::string path, caption;
};

// DIR/PREFIX_roc.png, _pr.png, _confusion.png, _calibration.png for one evaluated set.
std::vector<PlotFile> write_evaluation_plots(const std::string& dir, const std::string& prefix,
                                             const std::string& title, const ScoredSet& set,
                                             const BinaryMetrics& metrics);
// DIR/PREFIX_loss.png and _accuracy.png (none for an empty history).
std::vector<PlotFile> write_training_plots(const std::string& dir, const std::string& prefix,
                                           const std::string& title, const std::vector<EpochRecord>& history);

}  // namespace pneumoscan
