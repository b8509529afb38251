#include "cli/train_printer.h"

#include <iostream>

#include "core/text.h"
#include "core/timing.h"

namespace pneumoscan::cli {
void print_qc_exclusions(size_t excluded, const std::string& exclude_qc) {
  if (!exclude_qc.empty()) std::printf("excluded %zu images flagged by %s\n", excluded, exclude_qc.c_str());
}

void TrainPrinter::finish_bar() {
  if (bar_) bar_->finish();
  bar_.reset();
}

void TrainPrinter::on_pretrained_imported(const std::string& path, const std::string& report) {
  std::printf("%s: %s\n", path.c_str(), report.c_str());
}

void TrainPrinter::on_decode_progress(const std::string& what, size_t done, size_t total) {
  if (done == 0) bar_ = std::make_unique<ProgressBar>("decode " + what, total, show_progress_);
  if (bar_) bar_->update(done, done);
}

void TrainPrinter::on_decoded(const std::string& what, size_t images,
                              const std::vector<std::string>& failures, double seconds) {
  finish_bar();
  for (const auto& failure : failures) std::cerr << "warning: skipped " << failure << "\n";
  std::printf("%s: %zu images decoded in %s (%zu skipped)\n", what.c_str(), images,
              format_duration(seconds).c_str(), failures.size());
}

void TrainPrinter::on_train_start(const TrainStart& s) {
  std::string weights;
  for (size_t c = 0; c < s.class_weights.size() && c < s.class_names.size(); ++c)
    weights += format_string("%s%s %.3f", c ? ", " : "", s.class_names[c].c_str(), s.class_weights[c]);
  std::printf("%s: %lld trainable parameters of %lld%s; class weights %s\n", s.architecture.c_str(),
              static_cast<long long>(s.trainable_parameters), static_cast<long long>(s.parameters),
              s.features_frozen ? " (features frozen)" : "", weights.c_str());
}

void TrainPrinter::on_resumed(const std::string& checkpoint, int epochs_completed) {
  std::printf("resumed from %s after epoch %d\n", checkpoint.c_str(), epochs_completed);
}

void TrainPrinter::on_epoch_start(int epoch, int epochs, size_t steps) {
  bar_ = std::make_unique<ProgressBar>("epoch " + std::to_string(epoch) + "/" + std::to_string(epochs), steps,
                                       show_progress_);
}

void TrainPrinter::on_features_unfrozen(int epoch, int64_t parameters, double learning_rate) {
  std::printf("epoch %d: features unfrozen, all %lld parameters train (learning rate %.3g)\n", epoch,
              static_cast<long long>(parameters), learning_rate);
}

void TrainPrinter::on_step(const TrainStep& step) {
  if (!bar_) return;
  bar_->update(step.step, static_cast<size_t>(step.images), format_string("loss %.4f", step.mean_loss));
  if (step.step == step.steps) finish_bar();
}

void TrainPrinter::on_learning_rate_cut(int patience, double learning_rate) {
  std::printf("validation loss has not improved for %d epochs: learning rate -> %.3g\n", patience,
              learning_rate);
}

void TrainPrinter::on_epoch_end(const EpochRecord& r, int epochs) {
  finish_bar();
  std::printf(
      "epoch %d/%d  loss %.4f  acc %.3f | val loss %.4f  acc %.3f  auc %.4f  recall %.3f  spec %.3f | "
      "%.0f img/s  %s%s\n",
      r.epoch, epochs, r.train_loss, r.train_accuracy, r.val_loss, r.val_accuracy, r.val_roc_auc,
      r.val_recall, r.val_specificity, r.images_per_second, format_duration(r.seconds).c_str(),
      r.best ? "  *best*" : "");
  std::fflush(stdout);
}

void TrainPrinter::on_early_stop(int patience, int best_epoch) {
  std::printf("early stopping: no better validation loss for %d epochs (best epoch %d)\n", patience,
              best_epoch);
}

}  // namespace pneumoscan::cli
