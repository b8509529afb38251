#include "cli/event_log.h"

#include <cstdio>
#include <iostream>

namespace pneumoscan::cli {

std::unique_ptr<TensorBoardObserver> open_event_log(const std::string& logdir, const std::string& run,
                                                    const TrainConfig& config, const std::vector<Sample>& val,
                                                    bool resume) {
  auto events = std::make_unique<TensorBoardObserver>(run_log_dir(logdir, run, resume), config, val,
                                                      nlohmann::json{{"data", config.data_summary}});
  std::printf("TensorBoard events: %s (watch: pneumoscan board --logdir %s)\n", events->run_dir().c_str(),
              logdir.c_str());
  std::fflush(stdout);
  return events;
}

void close_event_log(TensorBoardObserver& events, const std::vector<float>& probabilities,
                     const std::vector<int>& labels, int epoch) {
  events.log_final_curves(probabilities, labels, epoch);
  if (!events.error().empty()) std::cerr << "warning: TensorBoard events stopped: " << events.error() << "\n";
}

void MonitoredComparePrinter::on_comparison_start(size_t entries, const TrainValSplit& split) {
  val_ = split.val;
  ComparePrinter::on_comparison_start(entries, split);
}

void MonitoredComparePrinter::on_entry_start(size_t index, size_t count, const CompareEntry& entry,
                                             const TrainConfig& config, size_t train_images) {
  ComparePrinter::on_entry_start(index, count, entry, config, train_images);
  label_ = entry.label;
  config_ = config;
  resuming_ = false;
  events_.reset();
}

void MonitoredComparePrinter::on_resuming(const std::string& checkpoint) {
  ComparePrinter::on_resuming(checkpoint);
  resuming_ = true;
}

void MonitoredComparePrinter::on_resume_refused(const std::string& reason) {
  ComparePrinter::on_resume_refused(reason);
  resuming_ = false;
}

TrainObserver* MonitoredComparePrinter::training() {
  events_ = open_event_log(logdir_, label_, config_, val_, resuming_);
  observers_ = CompositeObserver({ComparePrinter::training(), events_.get()});
  return &observers_;
}

void MonitoredComparePrinter::on_entry_done(size_t index, size_t count, const CompareRow& row) {
  if (events_) close_event_log(*events_, row.probabilities, row.labels, row.epochs_run);
  events_.reset();
  ComparePrinter::on_entry_done(index, count, row);
}

}  // namespace pneumoscan::cli
