#pragma once
// What a training run writes to TensorBoard event files (event_writer.h), in
// LOGDIR/<run>/:
//   config                         the run's settings as JSON (text)
//   step/train_loss, step/learning_rate        every `step_interval` batches (x = global step)
//   epoch/train_loss, train_accuracy, val_loss, val_accuracy, val_sensitivity, val_specificity,
//   val_roc_auc, val_pr_auc, val_ece, learning_rate, images_per_second, seconds   (x = epoch)
//   weights/<parameter>, gradients/<parameter>  histograms every epoch (gradients of the last batch)
//   gradcam/<n>_<class>_<file stem>  Grad-CAM overlay of a fixed set of validation X-rays every epoch
//   curves/roc, curves/pr          the final model's validation curves (PNG; roc.png, pr.png in the folder)
// The monitor layer sits above explain and report (it draws with both) and
// below compare and the front ends.
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data/sample.h"
#include "image/image.h"
#include "image/preprocess.h"
#include "models/classifier.h"
#include "monitor/event_writer.h"
#include "train/trainer.h"

namespace pneumoscan {

struct TrainingLogOptions {
  int step_interval = 10;  // batches between per-step points
  int gradcam_images = 4;  // fixed validation X-rays explained each epoch (half of each class where possible)
  int gradcam_side = 256;  // longest side of the overlays written
  bool histograms = true;
};

// A run folder under `logdir` for `name`: LOGDIR/<name>, or <name>-2, -3, ...
// when LOGDIR/<name> already holds event files and `resume` is false (a
// resumed run continues in its folder; a fresh one never mixes with an old one).
std::string run_log_dir(const std::string& logdir, const std::string& name, bool resume);

class TrainingLog {
 public:
  // Opens a new event file in `run_dir`. `gradcam_candidates`: the validation
  // samples the fixed Grad-CAM set is drawn from (the first ones by path,
  // balanced by class). IoError when the folder or file cannot be created.
  TrainingLog(const std::string& run_dir, const std::vector<Sample>& gradcam_candidates,
              TrainingLogOptions options = {});

  void log_config(const nlohmann::json& config);
  // One per-step point; `global_step` counts batches from the start of training (the caller
  // picks every options().step_interval-th).
  void log_step(int64_t global_step, double loss, double learning_rate);
  // Epoch figures; PR AUC and ECE come from the validation probabilities.
  void log_epoch(const EpochRecord& record, const std::vector<float>& val_probabilities,
                 const std::vector<int>& val_labels);
  // Histograms of every parameter and of its gradient (where one is defined).
  void log_parameters(torch::nn::Module& net, int epoch);
  // Grad-CAM overlays of the fixed validation set (unreadable files are skipped once, with a text note).
  void log_gradcam(ClassifierImpl& net, const PreprocessConfig& preprocess, torch::Device device, int epoch);
  // ROC and precision-recall curves of the final model on validation, at step `epoch`.
  void log_curves(const std::vector<float>& val_probabilities, const std::vector<int>& val_labels, int epoch);
  // Writes what is buffered (per epoch, and before the run ends).
  void flush() { writer_.flush(); }

  const std::string& run_dir() const { return run_dir_; }
  const std::string& file() const { return writer_.path(); }
  const TrainingLogOptions& options() const { return options_; }

 private:
  struct Fixed {
    std::string tag;
    Image small;         // the X-ray scaled down to gradcam_side, under the overlay
    cv::Mat model_size;  // resize_for_model's 8-bit input_size^2 image
  };
  void load_fixed(const PreprocessConfig& preprocess);
  std::string run_dir_;
  TrainingLogOptions options_;
  EventWriter writer_;
  std::vector<Fixed> fixed_;
  std::vector<Sample> candidates_;
  bool fixed_loaded_ = false;
};

// Size and channels (1 gray, 2 gray+alpha, 3 RGB, 4 RGBA) from a PNG's header; zeros when `png` is not a PNG.
struct PngInfo {
  int width = 0, height = 0, channels = 0;
};
PngInfo png_info(const std::string& png);

}  // namespace pneumoscan
