#pragma once
// How to train: the network, its input, the optimiser and its schedule,
// transfer learning, and where it runs. One validate() holds the rules every
// front end (train, compare entries) and train_model apply.
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/precision.h"
#include "data/augment.h"
#include "image/preprocess.h"
#include "models/registry.h"

namespace pneumoscan {

struct TrainConfig {
  ModelSpec spec{"small-cnn"};
  // The input's normalisation (normalization, and mean/std for kFixed in
  // [0,1] pixel units, 1 value or 3 per channel: mean 0.5 std 0.5 gives
  // [-1, 1]; see PreprocessConfig). input_size and
  // channels follow `spec` when training starts.
  PreprocessConfig preprocess;
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
  // Extra loss weight per class name, multiplying the class weighting (or 1
  // when it is off): {"VIRAL": 1.5} makes a viral error cost half as much
  // again. Names as in class_names (upper-cased by completed()); empty = none.
  std::map<std::string, double> class_weight_scale;
  // The order an epoch visits the training images: "shuffle" (each image
  // once) or "balanced" (as many draws with replacement, each class equally
  // likely; completed() then turns class weighting off, which it replaces).
  std::string sampling = "shuffle";
  // Mixup (Zhang et al. 2018): each batch trains on lambda x + (1 - lambda)
  // x[perm] against both targets, lambda ~ Beta(alpha, alpha); 0 = off.
  double mixup_alpha = 0.0;
  // Weight averaging (train/weight_average.h): > 0 keeps an exponential
  // moving average of the weights over the steps, with this decay, and
  // validates, selects and saves it instead of the last step's weights.
  double ema_decay = 0.0;  // [0, 1)
  // The classes the network learns: {NORMAL, PNEUMONIA}, or NORMAL and
  // pneumonia types ({NORMAL, BACTERIAL, VIRAL}: one output per class, and
  // P(pneumonia) = 1 - P(NORMAL)). Samples are mapped by data/sample.h's
  // class_index; a pneumonia of unknown type is an error for a finer list.
  std::vector<std::string> class_names = {"NORMAL", "PNEUMONIA"};
  double label_smoothing = 0.0;  // [0, 1)
  double target_sensitivity = 0.95;
  uint64_t seed = 42;
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
  // Discriminative learning rates: every parameter outside head_parameters()
  // learns at this multiple of the schedule's rate (the head at the rate
  // itself), so the pretrained layers move less than the new head; 1 = one
  // rate for all. (0, 1] in practice; any positive number is accepted.
  double feature_lr_scale = 1.0;
  // Where it runs (not part of what is learnt).
  std::string device = "cpu";
  // bfloat16: forward passes under autocast (train/step.h); validation, the
  // threshold and the saved weights stay float32.
  Precision precision = Precision::kFloat32;
  int loader_threads = 0;  // decoding threads, 0 = one per core
  bool channels_last = true;
  std::string model_name;                                  // default: "pneumoscan-<architecture>"
  nlohmann::json data_summary = nlohmann::json::object();  // stored in the model file
};

// Throws UsageError naming the first rule `config` breaks: epochs, batch size
// and learning rate positive; optimizer adam or sgd; target sensitivity in
// (0, 1]; label smoothing in [0, 1); sampling shuffle or balanced; mixup
// alpha 0 or positive and finite; EMA decay in [0, 1); class weight scales
// positive and finite, each naming a class of the list; a valid class list (data/sample.h's
// validate_class_names) whose size fits the outputs asked for; freeze "" or
// "features"; unfreeze-after 0 (never) or an epoch, and only after a frozen
// start; fixed normalisation mean/std that suit the input channels
// (fixed_normalization_problem).
void validate(const TrainConfig& config);

// `config` as training uses it: the class names upper-cased, one output per
// class for finer class lists, the architecture's defaults filled in, class
// weighting off under balanced sampling, and a model name
// ("pneumoscan-<architecture>" unless given). Validates first.
TrainConfig completed(TrainConfig config);

// The preprocessing a model trained with `config` uses: the normalisation of
// config.preprocess (mean/std only for kFixed, the defaults otherwise) at the
// size and channels of config.spec (completed with the architecture's defaults).
PreprocessConfig training_preprocess(const TrainConfig& config);

// Sets the normalisation of `config` by name: a mode (image_zscore,
// equalize_zscore, fixed with the current mean/std) or a preset of
// normalization_preset (imagenet, inception: fixed with its constants). A
// per-channel preset also sets spec.in_channels = 3, gray repeated, the only
// exact form (see PreprocessConfig). Throws UsageError for another name.
void use_normalization(TrainConfig& config, const std::string& name);

// The loss weight of each class of the completed `config` for training
// counts `train_counts` (one per class, each positive): inverse frequency
// (models/losses.h) or 1 without class weighting, times class_weight_scale.
std::vector<double> training_class_weights(const TrainConfig& config,
                                           const std::vector<int64_t>& train_counts);

// Whether the feature extractor is frozen during `epoch` (1-based).
bool features_frozen(const TrainConfig& config, int epoch);

// The settings as stored in model files and checkpoints (flat keys, stable across versions).
nlohmann::json to_json(const TrainConfig& config);

}  // namespace pneumoscan
