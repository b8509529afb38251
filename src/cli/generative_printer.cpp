#include "cli/generative_printer.h"

#include <cstdio>
#include <iostream>

#include "core/text.h"
#include "core/timing.h"
#include "monitor/training_log.h"

namespace pneumoscan::cli {

void GenerativePrinter::on_decode_progress(const std::string& what, size_t done, size_t total) {
  steps_.on_decode_progress(what, done, total);
}
void GenerativePrinter::on_decoded(const std::string& what, size_t images,
                                   const std::vector<std::string>& failures, double seconds) {
  steps_.on_decoded(what, images, failures, seconds);
}
void GenerativePrinter::on_train_start(const TrainStart& start) {
  std::printf("%s: %lld parameters, %d epochs\n", start.architecture.c_str(),
              static_cast<long long>(start.parameters), start.epochs);
}
void GenerativePrinter::on_resumed(const std::string& checkpoint, int epochs_completed) {
  steps_.on_resumed(checkpoint, epochs_completed);
}
void GenerativePrinter::on_epoch_start(int epoch, int epochs, size_t steps) {
  steps_.on_epoch_start(epoch, epochs, steps);
}
void GenerativePrinter::on_step(const TrainStep& step) { steps_.on_step(step); }
void GenerativePrinter::on_figures(int, const NamedFigures& figures) { figures_ = figures; }

void GenerativePrinter::on_epoch_end(const EpochRecord& record, int epochs) {
  std::string line = format_string("epoch %d/%d", record.epoch, epochs);
  for (const auto& [name, value] : figures_) {
    if (name == "seconds") continue;
    line += name == "images_per_second" ? format_string("  %.0f img/s", value)
                                        : format_string("  %s %.4g", name.c_str(), value);
  }
  std::printf("%s  %s%s\n", line.c_str(), format_duration(record.seconds).c_str(),
              record.best ? "  *best*" : "");
  std::fflush(stdout);
}

std::unique_ptr<GenerativeEventObserver> open_generative_log(const std::string& logdir,
                                                             const std::string& run,
                                                             const nlohmann::json& config, bool resume) {
  if (logdir.empty()) return nullptr;
  auto events = std::make_unique<GenerativeEventObserver>(run_log_dir(logdir, run, resume), config);
  std::printf("TensorBoard events: %s (watch: pneumoscan board --logdir %s)\n", events->run_dir().c_str(),
              logdir.c_str());
  std::fflush(stdout);
  return events;
}

void close_generative_log(const GenerativeEventObserver* events) {
  if (events != nullptr && !events->error().empty())
    std::cerr << "warning: TensorBoard events stopped: " << events->error() << "\n";
}

}  // namespace pneumoscan::cli
