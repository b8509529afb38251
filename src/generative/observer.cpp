#include "generative/observer.h"

namespace pneumoscan {

GenerativeObservers::GenerativeObservers(std::vector<GenerativeObserver*> observers) {
  for (auto* observer : observers)
    if (observer != nullptr) observers_.push_back(observer);
}

void GenerativeObservers::on_decode_progress(const std::string& what, size_t done, size_t total) {
  for (auto* o : observers_) o->on_decode_progress(what, done, total);
}
void GenerativeObservers::on_decoded(const std::string& what, size_t images,
                                     const std::vector<std::string>& failures, double seconds) {
  for (auto* o : observers_) o->on_decoded(what, images, failures, seconds);
}
void GenerativeObservers::on_train_start(const TrainStart& start) {
  for (auto* o : observers_) o->on_train_start(start);
}
void GenerativeObservers::on_resumed(const std::string& checkpoint, int epochs_completed) {
  for (auto* o : observers_) o->on_resumed(checkpoint, epochs_completed);
}
void GenerativeObservers::on_epoch_start(int epoch, int epochs, size_t steps) {
  for (auto* o : observers_) o->on_epoch_start(epoch, epochs, steps);
}
void GenerativeObservers::on_step(const TrainStep& step) {
  for (auto* o : observers_) o->on_step(step);
}
void GenerativeObservers::on_figures(int epoch, const NamedFigures& figures) {
  for (auto* o : observers_) o->on_figures(epoch, figures);
}
void GenerativeObservers::on_picture(int epoch, const std::string& tag, const std::string& png) {
  for (auto* o : observers_) o->on_picture(epoch, tag, png);
}
void GenerativeObservers::on_epoch_end(const EpochRecord& record, int epochs) {
  for (auto* o : observers_) o->on_epoch_end(record, epochs);
}
void GenerativeObservers::on_train_end(const TrainEnd& end) {
  for (auto* o : observers_) o->on_train_end(end);
}

}  // namespace pneumoscan
