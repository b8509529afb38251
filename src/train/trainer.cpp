#include "train/trainer.h"

#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "core/atomic_file.h"
#include "core/errors.h"
#include "data/loader.h"
#include "infer/batch_inference.h"
#include "models/pretrained.h"
#include "train/losses.h"
#include "train/progress.h"

namespace pneumoscan {
namespace {

using Clock = std::chrono::steady_clock;
using Weights = std::vector<std::pair<std::string, torch::Tensor>>;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Everything needed to continue an interrupted run exactly where it stopped.
struct TrainingState {
  int epochs_completed = 0;
  double best_val_loss = INFINITY;
  int best_epoch = 0;
  int epochs_without_improvement = 0;
  int epochs_since_lr_cut = 0;
  double learning_rate = 0;
  std::vector<EpochRecord> history;
  double seconds = 0;
};

Weights snapshot(torch::nn::Module& module) {
  Weights copy;
  for (auto& [name, tensor] : state_dict(module)) copy.emplace_back(name, tensor.detach().to(torch::kCPU).clone());
  return copy;
}

c10::Dict<std::string, torch::Tensor> to_dict(const Weights& weights) {
  c10::Dict<std::string, torch::Tensor> dict;
  for (const auto& [name, tensor] : weights) dict.insert(name, tensor.contiguous());
  return dict;
}

Weights from_dict(const c10::IValue& value, const std::string& source) {
  if (!value.isGenericDict()) throw ModelFileError(source, "corrupt checkpoint weights");
  Weights weights;
  for (const auto& entry : value.toGenericDict())
    weights.emplace_back(entry.key().toStringRef(), entry.value().toTensor());
  return weights;
}

// Whether the feature extractor is frozen during `epoch` (1-based).
bool features_frozen(const TrainConfig& config, int epoch) {
  return config.freeze == "features" && (config.unfreeze_after == 0 || epoch < config.unfreeze_after);
}

// Sets the freeze state for `epoch` and builds an optimizer over the trainable
// parameters at learning rate `lr` (fresh moments: called at the start of
// training, on resume before the saved state is loaded, and when unfreezing).
std::unique_ptr<torch::optim::Optimizer> make_optimizer(ClassifierImpl& net, const TrainConfig& config,
                                                        int epoch, double lr) {
  if (features_frozen(config, epoch))
    freeze_features(net);
  else
    unfreeze_all(net);
  const std::vector<torch::Tensor> parameters = trainable_parameters(net);
  if (config.optimizer == "adam")
    return std::make_unique<torch::optim::AdamW>(
        parameters, torch::optim::AdamWOptions(lr).weight_decay(config.weight_decay));
  if (config.optimizer == "sgd")
    return std::make_unique<torch::optim::SGD>(parameters, torch::optim::SGDOptions(lr)
                                                               .momentum(config.momentum)
                                                               .nesterov(true)
                                                               .weight_decay(config.weight_decay));
  throw UsageError("unknown optimizer '" + config.optimizer + "' (adam, sgd)");
}

void set_learning_rate(torch::optim::Optimizer& optimizer, double lr) {
  for (auto& group : optimizer.param_groups()) group.options().set_lr(lr);
}

nlohmann::json state_to_json(const TrainingState& s, const TrainConfig& config) {
  nlohmann::json history = nlohmann::json::array();
  for (const auto& r : s.history) history.push_back(to_json(r));
  return {{"config", to_json(config)},
          {"epochs_completed", s.epochs_completed},
          {"best_val_loss", s.best_val_loss},
          {"best_epoch", s.best_epoch},
          {"epochs_without_improvement", s.epochs_without_improvement},
          {"epochs_since_lr_cut", s.epochs_since_lr_cut},
          {"learning_rate", s.learning_rate},
          {"seconds", s.seconds},
          {"history", history}};
}

double number_or_nan(const nlohmann::json& value) { return value.is_null() ? NAN : value.get<double>(); }

EpochRecord record_from_json(const nlohmann::json& j) {
  EpochRecord r;
  r.epoch = j.at("epoch");
  r.learning_rate = j.at("learning_rate");
  r.train_loss = number_or_nan(j.at("train_loss"));
  r.train_accuracy = j.at("train_accuracy");
  r.val_loss = number_or_nan(j.at("val_loss"));
  r.val_accuracy = j.at("val_accuracy");
  r.val_roc_auc = number_or_nan(j.at("val_roc_auc"));
  r.val_recall = j.at("val_recall");
  r.val_specificity = j.at("val_specificity");
  r.seconds = j.at("seconds");
  r.images_per_second = j.at("images_per_second");
  r.best = j.at("best");
  return r;
}

void save_checkpoint(const std::string& path, const TrainingState& state, const TrainConfig& config,
                     ClassifierImpl& net, const Weights& best, torch::optim::Optimizer& optimizer) {
  torch::serialize::OutputArchive archive;
  archive.write("state", c10::IValue(state_to_json(state, config).dump()));
  archive.write("weights", c10::IValue(to_dict(snapshot(net))));
  archive.write("best_weights", c10::IValue(to_dict(best)));
  torch::serialize::OutputArchive optimizer_archive;
  optimizer.save(optimizer_archive);
  archive.write("optimizer", optimizer_archive);
  write_atomically(path, [&](const std::string& tmp) { archive.save_to(tmp); });
}

// `optimizer` is rebuilt for the freeze state of the last completed epoch
// before its saved state is loaded (the saved state covers those parameters).
void load_checkpoint(const std::string& path, TrainingState& state, const TrainConfig& config,
                     ClassifierImpl& net, Weights& best,
                     std::unique_ptr<torch::optim::Optimizer>& optimizer) {
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(path);
  } catch (const c10::Error&) {
    throw ModelFileError(path, "cannot read checkpoint (missing or corrupt); train without --resume");
  }
  c10::IValue value;
  if (!archive.try_read("state", value) || !value.isString())
    throw ModelFileError(path, "not a PneumoScan checkpoint");
  const nlohmann::json j = nlohmann::json::parse(value.toStringRef());
  const nlohmann::json saved = j.at("config");
  const nlohmann::json wanted = to_json(config);
  const nlohmann::json defaults = to_json(TrainConfig{});  // for keys older checkpoints lack
  for (const char* key : {"architecture", "input_size", "num_outputs", "in_channels", "normalization", "seed",
                          "optimizer", "batch_size", "norm_mean", "norm_std", "pretrained", "freeze",
                          "unfreeze_after", "freeze_batchnorm_stats"}) {
    const nlohmann::json& had = saved.contains(key) ? saved.at(key) : defaults.at(key);
    if (had != wanted.at(key))
      throw UsageError(path + ": checkpoint was made with " + key + " = " + had.dump() + ", not " +
                       wanted.at(key).dump() + "; use the same settings to resume");
  }
  state.epochs_completed = j.at("epochs_completed");
  state.best_val_loss = j.at("best_val_loss").is_null() ? INFINITY : j.at("best_val_loss").get<double>();
  state.best_epoch = j.at("best_epoch");
  state.epochs_without_improvement = j.at("epochs_without_improvement");
  state.epochs_since_lr_cut = j.at("epochs_since_lr_cut");
  state.learning_rate = j.at("learning_rate");
  state.seconds = j.at("seconds");
  for (const auto& r : j.at("history")) state.history.push_back(record_from_json(r));
  archive.read("weights", value);
  load_state_dict(net, from_dict(value, path), path);
  archive.read("best_weights", value);
  best = from_dict(value, path);
  torch::serialize::InputArchive optimizer_archive;
  archive.read("optimizer", optimizer_archive);
  optimizer = make_optimizer(net, config, state.epochs_completed, state.learning_rate);
  optimizer->load(optimizer_archive);
  set_learning_rate(*optimizer, state.learning_rate);
}

void write_logs(const std::string& model_path, const std::vector<EpochRecord>& history) {
  std::ostringstream csv, jsonl;
  csv << "epoch,learning_rate,train_loss,train_accuracy,val_loss,val_accuracy,val_roc_auc,val_recall,"
         "val_specificity,seconds,images_per_second,best\n";
  for (const auto& r : history) {
    char line[512];
    std::snprintf(line, sizeof line, "%d,%.6g,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.2f,%.1f,%d\n", r.epoch,
                  r.learning_rate, r.train_loss, r.train_accuracy, r.val_loss, r.val_accuracy, r.val_roc_auc,
                  r.val_recall, r.val_specificity, r.seconds, r.images_per_second, r.best ? 1 : 0);
    csv << line;
    jsonl << to_json(r).dump() << "\n";
  }
  write_file_atomically(log_csv_path(model_path), csv.str());
  write_file_atomically(log_jsonl_path(model_path), jsonl.str());
}

std::array<int64_t, 2> count_labels(const std::vector<int>& labels) {
  std::array<int64_t, 2> counts{0, 0};
  for (int label : labels) counts[label == kPneumonia ? 1 : 0]++;
  return counts;
}

void check_samples(const std::vector<Sample>& samples, const char* what) {
  if (samples.empty()) throw UsageError(std::string("no ") + what + " images");
  for (const auto& s : samples)
    if (s.label != kNormal && s.label != kPneumonia) throw InputError(s.path, "has no NORMAL/PNEUMONIA label");
}

ImageCache build_cache(const std::vector<Sample>& samples, const PreprocessConfig& preprocess,
                       const TrainConfig& config, const char* what) {
  const auto start = Clock::now();
  ProgressBar bar(std::string("decode ") + what, samples.size(), config.show_progress);
  ImageCache cache(samples, preprocess, config.loader_threads,
                   [&](size_t done, size_t) { bar.update(done, done); });
  bar.finish();
  for (const auto& failure : cache.failures()) std::cerr << "warning: skipped " << failure << "\n";
  std::printf("%s: %zu images decoded in %s (%zu skipped)\n", what, cache.size(),
              format_duration(seconds_since(start)).c_str(), cache.failures().size());
  return cache;
}

}  // namespace

std::string checkpoint_path(const std::string& model_path) { return model_path + ".ckpt"; }
std::string log_csv_path(const std::string& model_path) { return model_path + ".log.csv"; }
std::string log_jsonl_path(const std::string& model_path) { return model_path + ".log.jsonl"; }

nlohmann::json to_json(const TrainConfig& c) {
  return {{"architecture", c.spec.architecture},
          {"input_size", c.spec.input_size},
          {"in_channels", c.spec.in_channels},
          {"num_outputs", c.spec.num_outputs},
          {"normalization", to_string(c.normalization)},
          {"norm_mean", channel_values_json(c.norm_mean)},
          {"norm_std", channel_values_json(c.norm_std)},
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
          {"target_sensitivity", c.target_sensitivity},
          {"seed", c.seed},
          {"device", c.device}};
}

void use_normalization(TrainConfig& config, const std::string& name) {
  try {
    config.normalization = normalization_from_string(name);
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
  config.normalization = Normalization::kFixed;
  config.norm_mean = preset.mean;
  config.norm_std = preset.std;
  if (preset.mean.size() == 3) config.spec.in_channels = 3;
}

nlohmann::json to_json(const EpochRecord& r) {
  auto number = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); };
  return {{"epoch", r.epoch},
          {"learning_rate", r.learning_rate},
          {"train_loss", number(r.train_loss)},
          {"train_accuracy", r.train_accuracy},
          {"val_loss", number(r.val_loss)},
          {"val_accuracy", r.val_accuracy},
          {"val_roc_auc", number(r.val_roc_auc)},
          {"val_recall", r.val_recall},
          {"val_specificity", r.val_specificity},
          {"seconds", r.seconds},
          {"images_per_second", r.images_per_second},
          {"best", r.best}};
}

std::vector<EpochRecord> read_epoch_log(const std::string& model_path) {
  const std::string path = log_jsonl_path(model_path);
  std::istringstream lines(read_file(path));
  std::vector<EpochRecord> history;
  std::string line;
  try {
    while (std::getline(lines, line))
      if (!line.empty()) history.push_back(record_from_json(nlohmann::json::parse(line)));
  } catch (const nlohmann::json::exception& e) {
    throw InputError(path, std::string("not a training log: ") + e.what());
  }
  return history;
}

TrainResult train_model(const std::vector<Sample>& train, const std::vector<Sample>& val,
                        const TrainConfig& config_in, const std::string& model_path, bool resume) {
  TrainConfig config = config_in;
  config.spec = complete_spec(config.spec);
  if (config.model_name.empty()) config.model_name = "pneumoscan-" + config.spec.architecture;
  if (config.epochs < 1 || config.batch_size < 1) throw UsageError("epochs and batch size must be positive");
  if (!(config.target_sensitivity > 0 && config.target_sensitivity <= 1))
    throw UsageError("target sensitivity must lie in (0, 1]");
  if (!config.freeze.empty() && config.freeze != "features")
    throw UsageError("unknown freeze mode '" + config.freeze + "' (features)");
  if (config.unfreeze_after < 0) throw UsageError("unfreeze-after must be 0 (never) or an epoch number");
  if (config.unfreeze_after > 0 && config.freeze.empty())
    throw UsageError("unfreeze-after needs a frozen start (freeze = features)");
  if (config.normalization == Normalization::kFixed) {
    const std::string problem =
        fixed_normalization_problem(config.norm_mean, config.norm_std, static_cast<int>(config.spec.in_channels));
    if (!problem.empty()) throw UsageError(problem);
  }
  check_samples(train, "training");
  check_samples(val, "validation");
  const torch::Device device(config.device);

  PreprocessConfig preprocess;
  preprocess.input_size = static_cast<int>(config.spec.input_size);
  preprocess.channels = static_cast<int>(config.spec.in_channels);
  preprocess.normalization = config.normalization;
  if (config.normalization == Normalization::kFixed) {
    preprocess.mean = config.norm_mean;
    preprocess.std = config.norm_std;
  }

  torch::manual_seed(config.seed);
  Classifier net = create_model(config.spec);
  if (!config.pretrained_path.empty()) {
    const ImportReport report = import_pretrained(*net, config.pretrained_path);
    std::printf("%s: %s\n", config.pretrained_path.c_str(), format(report).c_str());
  }
  net->to(device);
  if (config.channels_last) to_channels_last(*net);
  auto optimizer = make_optimizer(*net, config, 1, config.learning_rate);

  ImageCache train_cache = build_cache(train, preprocess, config, "train");
  ImageCache val_cache = build_cache(val, preprocess, config, "validation");
  const auto train_counts = count_labels(train_cache.labels());
  const auto val_counts = count_labels(val_cache.labels());
  if (train_counts[0] == 0 || train_counts[1] == 0 || val_counts[0] == 0 || val_counts[1] == 0)
    throw UsageError("training and validation data both need NORMAL and PNEUMONIA images");
  const std::array<double, 2> weights =
      config.class_weighting ? class_weights_from_counts(train_counts[0], train_counts[1])
                             : std::array<double, 2>{1.0, 1.0};
  int64_t trainable = 0;
  for (const auto& p : trainable_parameters(*net)) trainable += p.numel();
  std::printf("%s: %lld trainable parameters of %lld%s; class weights NORMAL %.3f, PNEUMONIA %.3f\n",
              config.spec.architecture.c_str(), static_cast<long long>(trainable),
              static_cast<long long>(count_parameters(*net)),
              features_frozen(config, 1) ? " (features frozen)" : "", weights[0], weights[1]);

  TrainingState state;
  state.learning_rate = config.learning_rate;
  Weights best = snapshot(*net);
  const std::string ckpt = checkpoint_path(model_path);
  if (resume) {
    load_checkpoint(ckpt, state, config, *net, best, optimizer);
    std::printf("resumed from %s after epoch %d\n", ckpt.c_str(), state.epochs_completed);
  }

  BatchOptions train_options;
  train_options.batch_size = config.batch_size;
  train_options.shuffle = true;
  train_options.augment = config.augment.enabled;
  train_options.augment_config = config.augment;
  train_options.seed = config.seed;
  train_options.channels_last = config.channels_last;

  for (int epoch = state.epochs_completed + 1; epoch <= config.epochs; ++epoch) {
    if (state.epochs_without_improvement >= config.early_stopping_patience) break;
    const auto epoch_start = Clock::now();
    if (features_frozen(config, epoch - 1) && !features_frozen(config, epoch)) {
      optimizer = make_optimizer(*net, config, epoch, state.learning_rate);
      std::printf("epoch %d: features unfrozen, all %lld parameters train (learning rate %.3g)\n", epoch,
                  static_cast<long long>(count_parameters(*net)), state.learning_rate);
    }
    torch::manual_seed(config.seed + static_cast<uint64_t>(epoch));  // dropout, reproducible across resumes
    net->train();
    if (config.freeze_batchnorm_stats) freeze_batchnorm_statistics(*net);
    BatchStream stream(train_cache, train_options, epoch);
    ProgressBar bar("epoch " + std::to_string(epoch) + "/" + std::to_string(config.epochs), stream.num_batches(),
                    config.show_progress);
    double loss_sum = 0;
    int64_t seen = 0, correct = 0;
    size_t step = 0;
    while (auto batch = stream.next()) {
      const torch::Tensor images = batch->images.to(device);
      const torch::Tensor labels = batch->labels.to(device);
      optimizer->zero_grad();
      const torch::Tensor logits = net->forward(images);
      const torch::Tensor loss = weighted_loss(logits, labels, weights);
      TORCH_CHECK(std::isfinite(loss.item<double>()), "training diverged (loss is not finite) at epoch ", epoch,
                  "; lower the learning rate");
      loss.backward();
      optimizer->step();
      const int64_t n = labels.size(0);
      loss_sum += loss.item<double>() * n;
      seen += n;
      const torch::Tensor predicted = (pneumonia_probability(logits.detach()) >= 0.5).to(torch::kInt64);
      correct += predicted.eq(labels).sum().item<int64_t>();
      char status[64];
      std::snprintf(status, sizeof status, "loss %.4f", loss_sum / seen);
      bar.update(++step, seen, status);
    }
    bar.finish();
    const double train_seconds = seconds_since(epoch_start);

    const CachePredictions val_predictions =
        predict_cache(*net, val_cache, config.batch_size, weights, device, config.channels_last);
    const BinaryMetrics val_metrics = compute_metrics(val_predictions.probabilities, val_predictions.labels, 0.5);

    EpochRecord record;
    record.epoch = epoch;
    record.learning_rate = state.learning_rate;
    record.train_loss = loss_sum / std::max<int64_t>(seen, 1);
    record.train_accuracy = static_cast<double>(correct) / std::max<int64_t>(seen, 1);
    record.val_loss = val_predictions.loss;
    record.val_accuracy = val_metrics.accuracy;
    record.val_roc_auc = val_metrics.roc_auc;
    record.val_recall = val_metrics.recall;
    record.val_specificity = val_metrics.specificity;
    record.seconds = seconds_since(epoch_start);
    record.images_per_second = seen / std::max(train_seconds, 1e-9);

    if (val_predictions.loss < state.best_val_loss - 1e-4) {
      state.best_val_loss = val_predictions.loss;
      state.best_epoch = epoch;
      state.epochs_without_improvement = 0;
      state.epochs_since_lr_cut = 0;
      best = snapshot(*net);
      record.best = true;
    } else {
      ++state.epochs_without_improvement;
      if (++state.epochs_since_lr_cut >= config.plateau_patience &&
          state.learning_rate > config.min_learning_rate) {
        state.learning_rate = std::max(config.min_learning_rate, state.learning_rate * config.plateau_factor);
        set_learning_rate(*optimizer, state.learning_rate);
        state.epochs_since_lr_cut = 0;
        std::printf("validation loss has not improved for %d epochs: learning rate -> %.3g\n",
                    config.plateau_patience, state.learning_rate);
      }
    }
    state.history.push_back(record);
    state.epochs_completed = epoch;
    state.seconds += record.seconds;
    std::printf("epoch %d/%d  loss %.4f  acc %.3f | val loss %.4f  acc %.3f  auc %.4f  recall %.3f  spec %.3f | "
                "%.0f img/s  %s%s\n",
                epoch, config.epochs, record.train_loss, record.train_accuracy, record.val_loss, record.val_accuracy,
                record.val_roc_auc, record.val_recall, record.val_specificity, record.images_per_second,
                format_duration(record.seconds).c_str(), record.best ? "  *best*" : "");
    std::fflush(stdout);
    save_checkpoint(ckpt, state, config, *net, best, *optimizer);
    write_logs(model_path, state.history);
  }
  if (state.epochs_without_improvement >= config.early_stopping_patience)
    std::printf("early stopping: no better validation loss for %d epochs (best epoch %d)\n",
                config.early_stopping_patience, state.best_epoch);

  // The best epoch's weights, and a threshold that reaches the target sensitivity on validation.
  load_state_dict(*net, best, ckpt);
  const CachePredictions final_predictions =
      predict_cache(*net, val_cache, config.batch_size, weights, device, config.channels_last);
  const double threshold =
      threshold_for_sensitivity(final_predictions.probabilities, final_predictions.labels, config.target_sensitivity);
  TrainResult result;
  result.validation = compute_metrics(final_predictions.probabilities, final_predictions.labels, threshold);
  result.val_probabilities = final_predictions.probabilities;
  result.val_labels = final_predictions.labels;
  result.history = state.history;
  result.best_epoch = state.best_epoch;
  result.seconds = state.seconds;

  ModelMetadata& metadata = result.metadata;
  metadata.name = config.model_name;
  metadata.spec = config.spec;
  metadata.preprocess = preprocess;
  metadata.threshold = threshold;
  nlohmann::json data = config.data_summary;
  data["train_images"] = train_cache.size();
  data["train_normal"] = train_counts[0];
  data["train_pneumonia"] = train_counts[1];
  data["val_images"] = val_cache.size();
  data["val_normal"] = val_counts[0];
  data["val_pneumonia"] = val_counts[1];
  data["skipped_unreadable"] = train_cache.failures().size() + val_cache.failures().size();
  metadata.training = {{"config", to_json(config)},
                       {"data", data},
                       {"epochs_run", state.epochs_completed},
                       {"best_epoch", state.best_epoch},
                       {"training_seconds", state.seconds},
                       {"threshold_rule", "highest threshold with validation sensitivity >= " +
                                              std::to_string(config.target_sensitivity)},
                       {"validation", to_json(result.validation)}};
  save_model(model_path, metadata, *net);
  return result;
}

}  // namespace pneumoscan
