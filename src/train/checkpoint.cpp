#include "train/checkpoint.h"

#include <torch/torch.h>

#include "core/errors.h"
#include "core/json_text.h"
#include "core/text.h"
#include "model_file/archive.h"
#include "models/torch_archive.h"
#include "train/optimizer.h"
#include "train/optimizer_state.h"

namespace pneumoscan {
namespace {

nlohmann::json state_to_json(const TrainingState& s, const TrainConfig& config) {
  nlohmann::json history = nlohmann::json::array();
  for (const auto& r : s.history) history.push_back(to_json(r));
  nlohmann::json json = {{"config", to_json(config)},
                         {"epochs_completed", s.epochs_completed},
                         {"seconds", s.seconds},
                         {"history", history}};
  add_to_json(s.schedule, json);
  return json;
}

// The settings a run cannot change halfway.
void check_same_settings(const std::string& path, const nlohmann::json& saved, const TrainConfig& config) {
  const nlohmann::json wanted = to_json(config);
  const nlohmann::json defaults = to_json(TrainConfig{});  // for keys older checkpoints lack
  for (const char* key : {"architecture", "input_size", "num_outputs", "in_channels", "normalization", "seed",
                          "class_names", "optimizer", "batch_size", "norm_mean", "norm_std", "pretrained",
                          "freeze", "unfreeze_after", "freeze_batchnorm_stats"}) {
    const nlohmann::json& had = saved.contains(key) ? saved.at(key) : defaults.at(key);
    if (had != wanted.at(key))
      throw UsageError(path + ": checkpoint was made with " + key + " = " + json_text(had) + ", not " +
                       json_text(wanted.at(key)) + "; use the same settings to resume");
  }
  // Stored only when not the default (to_json), so older checkpoints read as the default.
  const TrainConfig fresh;
  struct OptionalNumber {
    const char* key;
    double now, by_default;
  };
  for (const OptionalNumber& o :
       {OptionalNumber{"ema_decay", config.ema_decay, fresh.ema_decay},
        OptionalNumber{"feature_lr_scale", config.feature_lr_scale, fresh.feature_lr_scale}}) {
    const double had =
        saved.contains(o.key) && saved.at(o.key).is_number() ? saved.at(o.key).get<double>() : o.by_default;
    if (had != o.now)
      throw UsageError(path + ": checkpoint was made with " + o.key + " = " + json_text(nlohmann::json(had)) +
                       ", not " + json_text(nlohmann::json(o.now)) + "; use the same settings to resume");
  }
}

}  // namespace

c10::Dict<std::string, torch::Tensor> to_dict(const NamedTensors& weights) {
  c10::Dict<std::string, torch::Tensor> dict;
  for (const auto& [name, tensor] : weights) dict.insert(name, tensor.contiguous());
  return dict;
}

NamedTensors from_dict(const c10::IValue& value, const std::string& source) {
  if (!value.isGenericDict()) throw ModelFileError(source, "damaged checkpoint: its weights are missing");
  NamedTensors weights;
  for (const auto& entry : value.toGenericDict()) {
    if (!entry.key().isString() || !entry.value().isTensor() || !entry.value().toTensor().defined())
      throw ModelFileError(source, "damaged checkpoint: a weight entry is not a tensor");
    const torch::Tensor t = entry.value().toTensor();
    // What snapshot() saves: float32 weights and int64 counters (read_archive_value
    // has refused quantized tensors and any reaching past their record).
    if (t.scalar_type() != torch::kFloat32 && t.scalar_type() != torch::kInt64)
      throw ModelFileError(source, "damaged checkpoint: weight " + quoted_excerpt(entry.key().toStringRef()) +
                                       " has type " + std::string(c10::toString(t.scalar_type())) +
                                       "; checkpoints hold float32 and int64 only");
    weights.emplace_back(entry.key().toStringRef(), t);
  }
  return weights;
}

NamedTensors snapshot(torch::nn::Module& module) {
  NamedTensors copy;
  for (auto& [name, tensor] : state_dict(module))
    copy.emplace_back(name, tensor.detach().to(torch::kCPU).clone());
  return copy;
}

void save_checkpoint(const std::string& path, const TrainingState& state, const TrainConfig& config,
                     ClassifierImpl& net, const NamedTensors& best, torch::optim::Optimizer& optimizer,
                     const WeightAverage* average) {
  torch::serialize::OutputArchive archive;
  nlohmann::json progress = state_to_json(state, config);
  if (average != nullptr) progress["ema_updates"] = average->updates();
  archive.write("state", c10::IValue(json_text(progress)));
  archive.write("weights", c10::IValue(to_dict(snapshot(net))));
  archive.write("best_weights", c10::IValue(to_dict(best)));
  if (average != nullptr) {
    NamedTensors averaged;
    for (const auto& [name, tensor] : average->weights()) averaged.emplace_back(name, tensor.to(torch::kCPU));
    archive.write("ema_weights", c10::IValue(to_dict(averaged)));
  }
  torch::serialize::OutputArchive optimizer_archive;
  optimizer.save(optimizer_archive);
  archive.write("optimizer", optimizer_archive);
  save_archive(archive, path);
}

nlohmann::json open_checkpoint(const std::string& path, c10::IValue& archive) {
  archive = read_archive_value(path, "checkpoint",
                               "cannot read checkpoint (not a checkpoint archive); train without --resume");
  const c10::IValue value = archive_attribute(archive, "state");
  if (!value.isString()) throw ModelFileError(path, "not a PneumoScan checkpoint");
  try {
    nlohmann::json state = nlohmann::json::parse(value.toStringRef());
    if (state.is_object()) return state;
  } catch (const nlohmann::json::exception&) {
  }
  throw ModelFileError(path, "damaged checkpoint: its progress record is not valid JSON");
}

void load_checkpoint(const std::string& path, const TrainConfig& config, TrainingState& state,
                     ClassifierImpl& net, NamedTensors& best,
                     std::unique_ptr<torch::optim::Optimizer>& optimizer, WeightAverage* average) {
  c10::IValue archive;
  int64_t ema_updates = 0;
  const nlohmann::json j = open_checkpoint(path, archive);
  try {
    check_same_settings(path, j.at("config"), config);
    state.epochs_completed = j.at("epochs_completed");
    state.schedule = plateau_schedule_from_json(j);
    state.seconds = j.at("seconds");
    for (const auto& r : j.at("history")) state.history.push_back(epoch_record_from_json(r));
    if (average != nullptr) ema_updates = j.at("ema_updates").get<int64_t>();
  } catch (const nlohmann::json::exception&) {
    throw ModelFileError(
        path, "damaged checkpoint: its progress record lacks a field or has one of the wrong type");
  }
  load_state_dict(net, from_dict(archive_attribute(archive, "weights"), path), path);
  best = from_dict(archive_attribute(archive, "best_weights"), path);
  if (average != nullptr)
    average->restore(from_dict(archive_attribute(archive, "ema_weights"), path), ema_updates, path);
  optimizer = make_optimizer(net, config, state.epochs_completed, state.schedule.learning_rate);
  restore_optimizer_state(archive_attribute(archive, "optimizer"), *optimizer, path);
  set_learning_rate(*optimizer, config, state.schedule.learning_rate);
}

}  // namespace pneumoscan
