#include "train/checkpoint.h"

#include <torch/torch.h>

#include "core/archive_bounds.h"
#include "core/errors.h"
#include "core/json_text.h"
#include "model_file/archive.h"
#include "train/optimizer.h"

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
}

}  // namespace

c10::Dict<std::string, torch::Tensor> to_dict(const NamedTensors& weights) {
  c10::Dict<std::string, torch::Tensor> dict;
  for (const auto& [name, tensor] : weights) dict.insert(name, tensor.contiguous());
  return dict;
}

NamedTensors from_dict(const c10::IValue& value, const std::string& source) {
  if (!value.isGenericDict()) throw ModelFileError(source, "corrupt checkpoint weights");
  NamedTensors weights;
  for (const auto& entry : value.toGenericDict())
    weights.emplace_back(entry.key().toStringRef(), entry.value().toTensor());
  return weights;
}

NamedTensors snapshot(torch::nn::Module& module) {
  NamedTensors copy;
  for (auto& [name, tensor] : state_dict(module))
    copy.emplace_back(name, tensor.detach().to(torch::kCPU).clone());
  return copy;
}

void save_checkpoint(const std::string& path, const TrainingState& state, const TrainConfig& config,
                     ClassifierImpl& net, const NamedTensors& best, torch::optim::Optimizer& optimizer) {
  torch::serialize::OutputArchive archive;
  archive.write("state", c10::IValue(json_text(state_to_json(state, config))));
  archive.write("weights", c10::IValue(to_dict(snapshot(net))));
  archive.write("best_weights", c10::IValue(to_dict(best)));
  torch::serialize::OutputArchive optimizer_archive;
  optimizer.save(optimizer_archive);
  archive.write("optimizer", optimizer_archive);
  save_archive(archive, path);
}

nlohmann::json open_checkpoint(const std::string& path, torch::serialize::InputArchive& archive) {
  check_archive_bounds(path, "checkpoint");  // LibTorch trusts the lengths the file declares
  try {
    archive.load_from(path);
  } catch (const c10::Error&) {
    throw ModelFileError(path, "cannot read checkpoint (missing or corrupt); train without --resume");
  }
  c10::IValue value;
  if (!archive.try_read("state", value) || !value.isString())
    throw ModelFileError(path, "not a PneumoScan checkpoint");
  return nlohmann::json::parse(value.toStringRef());
}

void load_checkpoint(const std::string& path, const TrainConfig& config, TrainingState& state,
                     ClassifierImpl& net, NamedTensors& best,
                     std::unique_ptr<torch::optim::Optimizer>& optimizer) {
  torch::serialize::InputArchive archive;
  const nlohmann::json j = open_checkpoint(path, archive);
  c10::IValue value;
  check_same_settings(path, j.at("config"), config);
  state.epochs_completed = j.at("epochs_completed");
  state.schedule = plateau_schedule_from_json(j);
  state.seconds = j.at("seconds");
  for (const auto& r : j.at("history")) state.history.push_back(epoch_record_from_json(r));
  archive.read("weights", value);
  load_state_dict(net, from_dict(value, path), path);
  archive.read("best_weights", value);
  best = from_dict(value, path);
  torch::serialize::InputArchive optimizer_archive;
  archive.read("optimizer", optimizer_archive);
  optimizer = make_optimizer(net, config, state.epochs_completed, state.schedule.learning_rate);
  optimizer->load(optimizer_archive);
  set_learning_rate(*optimizer, state.schedule.learning_rate);
}

}  // namespace pneumoscan
