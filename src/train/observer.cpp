#include "train/observer.h"

namespace pneumoscan {

CompositeObserver::CompositeObserver(std::vector<TrainObserver*> observers) {
  for (TrainObserver* observer : observers) add(observer);
}

void CompositeObserver::add(TrainObserver* observer) {
  if (observer != nullptr) observers_.push_back(observer);
}

template <typename... Parameters, typename... Arguments>
void CompositeObserver::each(void (TrainObserver::*event)(Parameters...), const Arguments&... arguments) {
  for (TrainObserver* observer : observers_) (observer->*event)(arguments...);
}

void CompositeObserver::on_pretrained_imported(const std::string& path, const std::string& report) {
  each(&TrainObserver::on_pretrained_imported, path, report);
}
void CompositeObserver::on_decode_progress(const std::string& what, size_t done, size_t total) {
  each(&TrainObserver::on_decode_progress, what, done, total);
}
void CompositeObserver::on_decoded(const std::string& what, size_t images,
                                   const std::vector<std::string>& failures, double seconds) {
  each(&TrainObserver::on_decoded, what, images, failures, seconds);
}
void CompositeObserver::on_train_start(const TrainStart& start) {
  each(&TrainObserver::on_train_start, start);
}
void CompositeObserver::on_resumed(const std::string& checkpoint, int epochs_completed) {
  each(&TrainObserver::on_resumed, checkpoint, epochs_completed);
}
void CompositeObserver::on_epoch_start(int epoch, int epochs, size_t steps) {
  each(&TrainObserver::on_epoch_start, epoch, epochs, steps);
}
void CompositeObserver::on_features_unfrozen(int epoch, int64_t parameters, double learning_rate) {
  each(&TrainObserver::on_features_unfrozen, epoch, parameters, learning_rate);
}
void CompositeObserver::on_step(const TrainStep& step) { each(&TrainObserver::on_step, step); }
void CompositeObserver::on_learning_rate_cut(int patience, double learning_rate) {
  each(&TrainObserver::on_learning_rate_cut, patience, learning_rate);
}
void CompositeObserver::on_epoch_end(const EpochRecord& record, int epochs) {
  each(&TrainObserver::on_epoch_end, record, epochs);
}
void CompositeObserver::on_early_stop(int patience, int best_epoch) {
  each(&TrainObserver::on_early_stop, patience, best_epoch);
}
void CompositeObserver::on_train_end(const TrainEnd& end) { each(&TrainObserver::on_train_end, end); }

}  // namespace pneumoscan
