#include "monitor/generative_observer.h"

#include "monitor/training_log.h"

namespace pneumoscan {

GenerativeEventObserver::GenerativeEventObserver(const std::string& run_dir, nlohmann::json config,
                                                 int step_interval)
    : run_dir_(run_dir), writer_(run_dir), config_(std::move(config)), step_interval_(step_interval) {}

template <typename Action>
void GenerativeEventObserver::guarded(Action action) {
  if (!error_.empty()) return;
  try {
    action();
  } catch (const std::exception& e) {
    error_ = e.what();
  }
}

void GenerativeEventObserver::on_train_start(const TrainStart& start) {
  guarded([&] {
    nlohmann::json config = config_;
    config["network"] = start.architecture;
    config["parameters"] = start.parameters;
    writer_.add_text("config", "```json\n" + config.dump(2) + "\n```", 0);
    writer_.flush();
  });
}

void GenerativeEventObserver::on_epoch_start(int, int, size_t steps) { steps_per_epoch_ = steps; }

void GenerativeEventObserver::on_step(const TrainStep& step) {
  const int64_t global = static_cast<int64_t>((step.epoch - 1) * steps_per_epoch_ + step.step);
  if (step_interval_ <= 0 || global % step_interval_ != 0) return;
  guarded([&] { writer_.add_scalar("step/running_loss", step.mean_loss, global); });
}

void GenerativeEventObserver::on_figures(int epoch, const NamedFigures& figures) {
  guarded([&] {
    for (const auto& [name, value] : figures) writer_.add_scalar("epoch/" + name, value, epoch);
  });
}

void GenerativeEventObserver::on_picture(int epoch, const std::string& tag, const std::string& png) {
  guarded([&] {
    const PngInfo info = png_info(png);
    writer_.add_image(tag, png, info.height, info.width, info.channels, epoch);
  });
}

void GenerativeEventObserver::on_epoch_end(const EpochRecord&, int) {
  guarded([&] { writer_.flush(); });
}

void GenerativeEventObserver::on_train_end(const TrainEnd&) {
  guarded([&] { writer_.flush(); });
}

}  // namespace pneumoscan
