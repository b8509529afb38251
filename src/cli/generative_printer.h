#pragma once
// The console side of `autoencoder train` and `gan train`: decoding and step
// progress as `train` shows it (TrainPrinter), and one line per epoch with
// the trainer's named figures; with --logdir, the TensorBoard observer
// (monitor/generative_observer.h) next to it.
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/train_printer.h"
#include "generative/observer.h"
#include "monitor/generative_observer.h"

namespace pneumoscan::cli {

class GenerativePrinter : public GenerativeObserver {
 public:
  explicit GenerativePrinter(bool show_progress) : steps_(show_progress) {}
  void on_decode_progress(const std::string& what, size_t done, size_t total) override;
  void on_decoded(const std::string& what, size_t images, const std::vector<std::string>& failures,
                  double seconds) override;
  void on_train_start(const TrainStart& start) override;
  void on_resumed(const std::string& checkpoint, int epochs_completed) override;
  void on_epoch_start(int epoch, int epochs, size_t steps) override;
  void on_step(const TrainStep& step) override;
  void on_figures(int epoch, const NamedFigures& figures) override;
  void on_epoch_end(const EpochRecord& record, int epochs) override;

 private:
  TrainPrinter steps_;
  NamedFigures figures_;
};

// The event log of a generative run in LOGDIR/<run> (a fresh folder unless resuming), announced on stdout;
// nullptr when `logdir` is empty.
std::unique_ptr<GenerativeEventObserver> open_generative_log(const std::string& logdir,
                                                             const std::string& run,
                                                             const nlohmann::json& config, bool resume);
// Warns on stderr when logging stopped on an error.
void close_generative_log(const GenerativeEventObserver* events);

}  // namespace pneumoscan::cli
