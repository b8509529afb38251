#include "train/config.h"

#include <algorithm>
#include <cmath>

#include "core/errors.h"
#include "core/text.h"
#include "data/sample.h"
#include "models/losses.h"

namespace pneumoscan {

void validate(const TrainConfig& c) {
  if (c.epochs < 1 || c.batch_size < 1) throw UsageError("epochs and batch size must be positive");
  if (!(c.learning_rate > 0)) throw UsageError("learning rate must be positive");
  if (c.optimizer != "adam" && c.optimizer != "sgd")
    throw UsageError("unknown optimizer '" + c.optimizer + "' (adam, sgd)");
  if (!(c.target_sensitivity > 0 && c.target_sensitivity <= 1))
    throw UsageError("target sensitivity must lie in (0, 1]");
  if (!(c.label_smoothing >= 0 && c.label_smoothing < 1))
    throw UsageError("label smoothing must lie in [0, 1)");
  if (c.sampling != "shuffle" && c.sampling != "balanced")
    throw UsageError("unknown sampling '" + c.sampling + "' (shuffle, balanced)");
  if (!(c.mixup_alpha >= 0 && std::isfinite(c.mixup_alpha)))
    throw UsageError("mixup alpha must be 0 (off) or a positive number");
  if (!(c.ema_decay >= 0 && c.ema_decay < 1))
    throw UsageError("the EMA decay must be in [0, 1): 0 (off) or e.g. 0.998 (about the last 500 steps)");
  if (!(c.feature_lr_scale > 0 && std::isfinite(c.feature_lr_scale)))
    throw UsageError("the feature learning-rate scale must be a positive number (1 = the head's rate)");
  if (!(c.augment.max_zoom >= 0 && c.augment.max_zoom <= 0.5))
    throw UsageError("zoom range must lie in [0, 0.5] (scales 1 - z to 1 + z)");
  const std::vector<std::string> names = validate_class_names(c.class_names);
  const size_t classes = names.size();
  for (const auto& [name, scale] : c.class_weight_scale) {
    if (std::find(names.begin(), names.end(), uppercase(name)) == names.end())
      throw UsageError("class weight scale for " + quoted_excerpt(name) +
                       ", which is not one of the classes (" + join(names, ", ") + ")");
    if (!(scale > 0 && std::isfinite(scale)))
      throw UsageError("the class weight scale of " + quoted_excerpt(name) + " must be a positive number");
  }
  if (classes > 2 && c.spec.num_outputs != static_cast<int64_t>(classes) && c.spec.num_outputs != 0 &&
      c.spec.num_outputs != find_architecture(c.spec.architecture).default_num_outputs)
    throw UsageError(std::to_string(classes) + " classes need " + std::to_string(classes) + " outputs, not " +
                     std::to_string(c.spec.num_outputs));
  if (!c.freeze.empty() && c.freeze != "features")
    throw UsageError("unknown freeze mode '" + c.freeze + "' (features)");
  if (c.unfreeze_after < 0) throw UsageError("unfreeze-after must be 0 (never) or an epoch number");
  if (c.unfreeze_after > 0 && c.freeze.empty())
    throw UsageError("unfreeze-after needs freeze=features (a frozen start)");
  if (c.preprocess.normalization == Normalization::kFixed) {
    const std::string problem = fixed_normalization_problem(
        c.preprocess.mean, c.preprocess.std, static_cast<int>(complete_spec(c.spec).in_channels));
    if (!problem.empty()) throw UsageError(problem);
  }
}

TrainConfig completed(TrainConfig config) {
  validate(config);
  config.class_names = validate_class_names(config.class_names);
  if (config.class_names.size() > 2)
    config.spec.num_outputs = static_cast<int64_t>(config.class_names.size());
  config.spec = complete_spec(config.spec);
  if (config.sampling == "balanced") config.class_weighting = false;
  std::map<std::string, double> scales;
  for (const auto& [name, scale] : config.class_weight_scale) scales[uppercase(name)] = scale;
  config.class_weight_scale = scales;
  if (config.model_name.empty()) config.model_name = "pneumoscan-" + config.spec.architecture;
  return config;
}

std::vector<double> training_class_weights(const TrainConfig& config,
                                           const std::vector<int64_t>& train_counts) {
  std::vector<double> weights = config.class_weighting ? class_weights_from_counts(train_counts)
                                                       : std::vector<double>(train_counts.size(), 1.0);
  for (size_t c = 0; c < weights.size() && c < config.class_names.size(); ++c) {
    const auto scale = config.class_weight_scale.find(config.class_names[c]);
    if (scale != config.class_weight_scale.end()) weights[c] *= scale->second;
  }
  return weights;
}

PreprocessConfig training_preprocess(const TrainConfig& config) {
  const ModelSpec spec = complete_spec(config.spec);
  PreprocessConfig preprocess;
  preprocess.input_size = static_cast<int>(spec.input_size);
  preprocess.channels = static_cast<int>(spec.in_channels);
  preprocess.normalization = config.preprocess.normalization;
  if (config.preprocess.normalization == Normalization::kFixed) {
    preprocess.mean = config.preprocess.mean;
    preprocess.std = config.preprocess.std;
  }
  return preprocess;
}

void use_normalization(TrainConfig& config, const std::string& name) {
  try {
    config.preprocess.normalization = normalization_from_string(name);
    return;
  } catch (const UsageError&) {
    // not a mode: a preset?
  }
  FixedNormalization preset;
  try {
    preset = normalization_preset(name);
  } catch (const UsageError&) {
    throw UsageError("unknown normalization '" + name +
                     "' (image_zscore, equalize_zscore, fixed, imagenet, inception)");
  }
  config.preprocess.normalization = Normalization::kFixed;
  config.preprocess.mean = preset.mean;
  config.preprocess.std = preset.std;
  if (preset.mean.size() == 3) config.spec.in_channels = 3;
}

bool features_frozen(const TrainConfig& config, int epoch) {
  return config.freeze == "features" && (config.unfreeze_after == 0 || epoch < config.unfreeze_after);
}

nlohmann::json to_json(const TrainConfig& c) {
  nlohmann::json json = {{"architecture", c.spec.architecture},
                         {"input_size", c.spec.input_size},
                         {"in_channels", c.spec.in_channels},
                         {"num_outputs", c.spec.num_outputs},
                         {"normalization", to_string(c.preprocess.normalization)},
                         {"norm_mean", channel_values_json(c.preprocess.mean)},
                         {"norm_std", channel_values_json(c.preprocess.std)},
                         {"pretrained", c.pretrained_path},
                         {"freeze", c.freeze},
                         {"unfreeze_after", c.unfreeze_after},
                         {"freeze_batchnorm_stats", c.freeze_batchnorm_stats},
                         {"augment", to_json(c.augment)},
                         {"epochs", c.epochs},
                         {"batch_size", c.batch_size},
                         {"optimizer", c.optimizer},
                         {"learning_rate", c.learning_rate},
                         {"weight_decay", c.weight_decay},
                         {"momentum", c.momentum},
                         {"early_stopping_patience", c.early_stopping_patience},
                         {"plateau_patience", c.plateau_patience},
                         {"plateau_factor", c.plateau_factor},
                         {"min_learning_rate", c.min_learning_rate},
                         {"class_weighting", c.class_weighting},
                         {"class_names", c.class_names},
                         {"label_smoothing", c.label_smoothing},
                         {"target_sensitivity", c.target_sensitivity},
                         {"seed", c.seed},
                         {"device", c.device}};
  // Only when not float32, so that files and checkpoints written before the
  // option existed still describe the same settings (compare reuses them).
  if (c.precision != Precision::kFloat32) json["precision"] = precision_name(c.precision);
  if (c.sampling != "shuffle") json["sampling"] = c.sampling;
  if (c.mixup_alpha > 0) json["mixup_alpha"] = c.mixup_alpha;
  if (c.ema_decay > 0) json["ema_decay"] = c.ema_decay;
  if (!c.class_weight_scale.empty()) json["class_weight_scale"] = c.class_weight_scale;
  if (c.feature_lr_scale != 1.0) json["feature_lr_scale"] = c.feature_lr_scale;
  return json;
}

}  // namespace pneumoscan
