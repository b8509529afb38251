#pragma once
// Training done right for an imbalanced medical data set: class-weighted
// loss, Adam or SGD with weight decay, reduce-LR-on-plateau, early stopping,
// best checkpoint by validation loss, seeds, resume, and a decision
// threshold chosen on validation for a target sensitivity.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/augment.h"
#include "data/sample.h"
#include "eval/metrics.h"
#include "image/preprocess.h"
#include "model_file/model_file.h"

namespace pneumoscan {

struct TrainConfig {
  ModelSpec spec{"small-cnn"};
  Normalization normalization = Normalization::kImageZScore;
  // kFixed only, [0,1] pixel units, 1 value or 3 (per channel; spec.in_channels
  // must then be 3): see PreprocessConfig. Mean 0.5 std 0.5 gives [-1, 1].
  std::vector<float> norm_mean = {0.5f};
  std::vector<float> norm_std = {0.25f};
  AugmentConfig augment;
  int epochs = 30;
  int batch_size = 32;
  std::string optimizer = "adam";  // "adam" (AdamW-style decoupled decay) or "sgd" (momentum)
  double learning_rate = 1e-3;
  double weight_decay = 1e-4;
  double momentum = 0.9;
  int early_stopping_patience = 6;  // epochs without a better validation loss
  int plateau_patience = 2;         // epochs without improvement before the LR is cut
  double plateau_factor = 0.5;
  double min_learning_rate = 1e-6;
  bool class_weighting = true;
  double target_sensitivity = 0.95;
  uint64_t seed = 42;
  int loader_threads = 0;
  bool channels_last = true;
  // Transfer learning. `pretrained_path`: a torchvision-layout state dict
  // imported right after the network is built (models/pretrained.h).
  // `freeze` = "features": only head_parameters() train until epoch
  // `unfreeze_after` (0 = never), from which on everything trains.
  // `freeze_batchnorm_stats`: BatchNorm layers stay in eval mode, so their
  // running statistics are not updated.
  std::string pretrained_path;
  std::string freeze;
  int unfreeze_after = 0;
  bool freeze_batchnorm_stats = false;
  std::string device = "cpu";
  bool show_progress = true;
  std::string model_name;           // default: "pneumoscan-<architecture>"
  nlohmann::json data_summary = nlohmann::json::object();  // stored in the model file
};

nlohmann::json to_json(const TrainConfig& config);

// Sets the normalisation of `config` by name: a mode (image_zscore,
// equalize_zscore, fixed with the current norm_mean/norm_std) or a preset of
// normalization_preset (imagenet, inception: fixed with its constants). A
// per-channel preset also sets spec.in_channels = 3, gray repeated, the only
// exact form (see PreprocessConfig). Throws UsageError for another name.
void use_normalization(TrainConfig& config, const std::string& name);

struct EpochRecord {
  int epoch = 0;
  double learning_rate = 0;
  double train_loss = 0, train_accuracy = 0;
  double val_loss = 0, val_accuracy = 0, val_roc_auc = 0, val_recall = 0, val_specificity = 0;
  double seconds = 0, images_per_second = 0;
  bool best = false;
};
nlohmann::json to_json(const EpochRecord& record);

// The epoch history train_model logged for `model_path` (MODEL.log.jsonl); IoError/InputError naming the log.
std::vector<EpochRecord> read_epoch_log(const std::string& model_path);

struct TrainResult {
  ModelMetadata metadata;
  std::vector<EpochRecord> history;
  BinaryMetrics validation;  // best model, at the chosen threshold
  std::vector<float> val_probabilities;  // the best model's P(pneumonia) per decoded validation image
  std::vector<int> val_labels;
  int best_epoch = 0;
  double seconds = 0;
};

// Paths of the side files next to a model path.
std::string checkpoint_path(const std::string& model_path);  // MODEL.ckpt
std::string log_csv_path(const std::string& model_path);     // MODEL.log.csv
std::string log_jsonl_path(const std::string& model_path);   // MODEL.log.jsonl

// Trains on `train`, selects on `val`, writes the model to `model_path`.
// After every epoch it writes a checkpoint (for `resume`) and the epoch logs,
// all atomically. Throws UsageError/InputError with a clear message.
TrainResult train_model(const std::vector<Sample>& train, const std::vector<Sample>& val, const TrainConfig& config,
                        const std::string& model_path, bool resume = false);

}  // namespace pneumoscan
