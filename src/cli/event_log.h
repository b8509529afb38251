#pragma once
// `--logdir` of `train` and `compare`: the front end adds a TensorBoard
// observer (monitor/training_observer.h) next to its console printer, so the
// trainer and the comparison know nothing of event files.
#include <memory>
#include <string>
#include <vector>

#include "cli/compare_printer.h"
#include "monitor/training_observer.h"

namespace pneumoscan::cli {

// The run's event files in LOGDIR/<run> (monitor/training_log.h's run_log_dir),
// announced on stdout. IoError when the folder cannot be written.
std::unique_ptr<TensorBoardObserver> open_event_log(const std::string& logdir, const std::string& run,
                                                    const TrainConfig& config, const std::vector<Sample>& val,
                                                    bool resume);
// Logs the final model's validation curves and warns (stderr) when logging stopped on an error.
void close_event_log(TensorBoardObserver& events, const std::vector<float>& probabilities,
                     const std::vector<int>& labels, int epoch);

// `compare --logdir`: ComparePrinter's lines, and each entry that trains
// writes its events to LOGDIR/<label>. run_comparison asks for training()
// right before it trains an entry, so that is where the entry's log opens;
// a reused entry writes none.
class MonitoredComparePrinter : public ComparePrinter {
 public:
  MonitoredComparePrinter(bool show_progress, std::string exclude_qc, std::string logdir)
      : ComparePrinter(show_progress, std::move(exclude_qc)), logdir_(std::move(logdir)) {}

  void on_comparison_start(size_t entries, const TrainValSplit& split) override;
  void on_entry_start(size_t index, size_t count, const CompareEntry& entry, const TrainConfig& config,
                      size_t train_images) override;
  void on_resuming(const std::string& checkpoint) override;
  void on_resume_refused(const std::string& reason) override;
  void on_entry_done(size_t index, size_t count, const CompareRow& row) override;
  TrainObserver* training() override;

 private:
  std::string logdir_, label_;
  std::vector<Sample> val_;
  TrainConfig config_;
  bool resuming_ = false;
  std::unique_ptr<TensorBoardObserver> events_;
  CompositeObserver observers_;
};

}  // namespace pneumoscan::cli
