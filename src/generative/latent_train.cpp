#include "generative/latent_train.h"

#include <torch/torch.h>

#include <algorithm>
#include <numeric>
#include <random>

#include "core/errors.h"
#include "core/timing.h"
#include "eval/metrics.h"
#include "models/latent_cnn.h"
#include "models/losses.h"
#include "models/output.h"
#include "train/checkpoint.h"
#include "train/finalise.h"
#include "train/optimizer.h"
#include "train/schedule.h"
#include "train/step.h"

namespace pneumoscan {
namespace {

// Codes (float16 rows) and class indices of one side of the split.
struct CodedSide {
  torch::Tensor codes;   // float16 [n, C, h, w]
  torch::Tensor labels;  // int64 [n], class indices
  std::vector<int64_t> counts;
};

CodedSide coded_side(const std::vector<Sample>& samples, const CodeSet& codes, const std::string& codes_path,
                     const std::vector<std::string>& classes, const char* what) {
  if (samples.empty()) throw UsageError(std::string("no ") + what + " images");
  CodedSide side;
  side.counts.assign(classes.size(), 0);
  std::vector<int64_t> labels;
  for (const auto& s : samples) {
    const int c = class_index(s, classes);
    if (c < 0) throw InputError(s.path, "has no class among " + std::to_string(classes.size()) + " classes");
    labels.push_back(c);
    side.counts[static_cast<size_t>(c)]++;
  }
  side.labels = torch::tensor(labels, torch::kInt64);
  side.codes = codes_for(codes, samples, codes_path);
  return side;
}

struct Predictions {
  double loss = 0;
  std::vector<float> probabilities;
  std::vector<int> labels;  // binary
};

Predictions predict_codes(ClassifierImpl& net, const CodedSide& side, int batch_size,
                          const std::vector<double>& class_weights) {
  const EvalModeGuard eval_mode(net);
  torch::NoGradGuard no_grad;
  Predictions result;
  const int64_t n = side.codes.size(0);
  for (int64_t start = 0; start < n; start += batch_size) {
    const int64_t end = std::min<int64_t>(n, start + batch_size);
    const torch::Tensor labels = side.labels.slice(0, start, end);
    const torch::Tensor logits = net.forward(side.codes.slice(0, start, end).to(torch::kFloat32));
    result.loss +=
        weighted_loss(logits, labels, class_weights).item<double>() * static_cast<double>(end - start);
    const torch::Tensor p = pneumonia_probability(logits).contiguous();
    result.probabilities.insert(result.probabilities.end(), p.data_ptr<float>(),
                                p.data_ptr<float>() + p.numel());
    for (int64_t i = 0; i < labels.size(0); ++i)
      result.labels.push_back(labels[i].item<int64_t>() > 0 ? 1 : 0);
  }
  result.loss /= static_cast<double>(std::max<int64_t>(n, 1));
  return result;
}

}  // namespace

TrainResult train_latent_model(const std::vector<Sample>& train, const std::vector<Sample>& val,
                               const CodeSet& codes, const std::string& codes_path,
                               LoadedAutoencoder& autoencoder, const std::string& autoencoder_path,
                               const TrainConfig& config_in, const std::string& model_path, bool resume,
                               TrainObserver* observer_in) {
  TrainObserver silent;
  TrainObserver& observer = observer_in != nullptr ? *observer_in : silent;
  TrainConfig config_set = config_in;
  config_set.preprocess = codes.preprocess;
  config_set.spec.input_size = codes.preprocess.input_size;
  config_set.spec.in_channels = codes.preprocess.channels;
  const TrainConfig config = completed(config_set);
  if (config.spec.architecture != "latent-cnn")
    throw UsageError("--codes trains the latent-cnn architecture, not " + config.spec.architecture);
  if (config.ema_decay > 0)
    throw UsageError("--ema-decay is for networks trained on images; the latent CNN keeps its best epoch");
  const std::string fingerprint = encoder_fingerprint(*autoencoder.net, autoencoder.metadata.preprocess);
  if (fingerprint != codes.encoder_fingerprint)
    throw ModelFileError(codes_path, "codes made by encoder " + codes.encoder_fingerprint + ", not by " +
                                         autoencoder_path + "'s encoder " + fingerprint +
                                         "; encode the data again with `pneumoscan autoencoder encode`");
  const CodedSide train_side = coded_side(train, codes, codes_path, config.class_names, "training");
  const CodedSide val_side = coded_side(val, codes, codes_path, config.class_names, "validation");
  for (size_t c = 0; c < config.class_names.size(); ++c)
    if (train_side.counts[c] == 0 || val_side.counts[c] == 0)
      throw UsageError("training and validation data both need images of every class");
  const std::vector<double> class_weights = training_class_weights(config, train_side.counts);

  torch::manual_seed(config.seed);
  LatentCnnOptions options;
  options.input_size = config.spec.input_size;
  options.in_channels = config.spec.in_channels;
  options.num_outputs = config.spec.num_outputs;
  auto net = std::make_shared<LatentCnnImpl>(options);
  load_state_dict(*net->encoder, state_dict(*autoencoder.net->encoder), autoencoder_path);
  auto head = std::make_shared<CodeClassifierImpl>(net);  // what trains: the latent layers
  auto optimizer = make_optimizer(*head, config, 1, config.learning_rate);
  TrainStart start;
  start.architecture = config.spec.architecture + " (on codes)";
  for (const auto& p : head->parameters()) start.trainable_parameters += p.numel();
  start.parameters = count_parameters(*net);
  start.class_names = config.class_names;
  start.class_weights = class_weights;
  start.epochs = config.epochs;
  observer.on_train_start(start);

  TrainingState state;
  state.schedule.learning_rate = config.learning_rate;
  NamedTensors best = snapshot(*head);
  if (resume) {
    load_checkpoint(checkpoint_path(model_path), config, state, *head, best, optimizer);
    observer.on_resumed(checkpoint_path(model_path), state.epochs_completed);
  }
  const int64_t n = train_side.codes.size(0);
  for (int epoch = state.epochs_completed + 1; epoch <= config.epochs; ++epoch) {
    if (state.schedule.exhausted(config.early_stopping_patience)) break;
    const Stopwatch stopwatch;
    torch::manual_seed(config.seed + static_cast<uint64_t>(epoch));
    head->train();
    std::vector<int64_t> order(static_cast<size_t>(n));
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(),
                 std::mt19937_64(config.seed * 1000003u + static_cast<uint64_t>(epoch)));
    const size_t steps = (order.size() + config.batch_size - 1) / config.batch_size;
    observer.on_epoch_start(epoch, config.epochs, steps);
    double loss_sum = 0;
    int64_t seen = 0, correct = 0;
    for (size_t step = 0; step < steps; ++step) {
      const auto first = order.begin() + static_cast<std::ptrdiff_t>(step * config.batch_size);
      const auto last =
          order.begin() + static_cast<std::ptrdiff_t>(std::min(order.size(), (step + 1) * config.batch_size));
      const torch::Tensor rows = torch::tensor(std::vector<int64_t>(first, last), torch::kInt64);
      const torch::Tensor labels = train_side.labels.index_select(0, rows);
      StepOptions step_options;
      step_options.class_weights = class_weights;
      step_options.label_smoothing = config.label_smoothing;
      const StepResult r =
          train_step(*head, *optimizer, train_side.codes.index_select(0, rows).to(torch::kFloat32), labels,
                     step_options);
      TORCH_CHECK(r.finite, "training diverged (loss is not finite) at epoch ", epoch,
                  "; lower the learning rate");
      loss_sum += r.loss * labels.size(0);
      seen += labels.size(0);
      correct += (pneumonia_probability(r.logits) >= 0.5).eq(labels.gt(0)).sum().item<int64_t>();
      observer.on_step({epoch, step + 1, steps, seen, loss_sum / seen, state.schedule.learning_rate});
    }
    const double train_seconds = stopwatch.seconds();
    const Predictions v = predict_codes(*head, val_side, config.batch_size, class_weights);
    const BinaryMetrics m = compute_metrics(v.probabilities, v.labels, 0.5);
    EpochRecord record;
    record.epoch = epoch;
    record.learning_rate = state.schedule.learning_rate;
    record.train_loss = loss_sum / std::max<int64_t>(seen, 1);
    record.train_accuracy = static_cast<double>(correct) / std::max<int64_t>(seen, 1);
    record.val_loss = v.loss;
    record.val_accuracy = m.accuracy;
    record.val_roc_auc = m.roc_auc;
    record.val_recall = m.recall;
    record.val_specificity = m.specificity;
    record.images_per_second = seen / std::max(train_seconds, 1e-9);
    const auto outcome = state.schedule.update(epoch, v.loss, config.plateau_patience, config.plateau_factor,
                                               config.min_learning_rate);
    if (outcome == PlateauSchedule::Outcome::kImproved) {
      best = snapshot(*head);
      record.best = true;
    } else if (outcome == PlateauSchedule::Outcome::kLearningRateCut) {
      set_learning_rate(*optimizer, config, state.schedule.learning_rate);
      observer.on_learning_rate_cut(config.plateau_patience, state.schedule.learning_rate);
    }
    record.seconds = stopwatch.seconds();
    state.history.push_back(record);
    state.epochs_completed = epoch;
    state.seconds += record.seconds;
    save_checkpoint(checkpoint_path(model_path), state, config, *head, best, *optimizer);
    write_epoch_logs(model_path, state.history);
    observer.on_epoch_end(record, config.epochs);
  }
  if (state.schedule.exhausted(config.early_stopping_patience))
    observer.on_early_stop(config.early_stopping_patience, state.schedule.best_epoch);

  load_state_dict(*head, best, checkpoint_path(model_path));
  const Predictions final_val = predict_codes(*head, val_side, config.batch_size, class_weights);
  TrainResult result;
  const double threshold =
      threshold_for_sensitivity(final_val.probabilities, final_val.labels, config.target_sensitivity);
  result.validation = compute_metrics(final_val.probabilities, final_val.labels, threshold);
  result.val_probabilities = final_val.probabilities;
  result.val_labels = final_val.labels;
  result.history = state.history;
  result.best_epoch = state.schedule.best_epoch;
  result.seconds = state.seconds;
  ModelMetadata& metadata = result.metadata;
  metadata.name = config.model_name;
  metadata.spec = config.spec;
  metadata.preprocess = codes.preprocess;
  metadata.threshold = threshold;
  metadata.class_names = config.class_names;
  nlohmann::json data = config.data_summary;
  data["train_images"] = train.size();
  data["train_normal"] = train_side.counts[0];
  data["val_images"] = val.size();
  data["val_normal"] = val_side.counts[0];
  data["codes"] = {{"file", codes_path},
                   {"encoder_fingerprint", codes.encoder_fingerprint},
                   {"autoencoder", autoencoder_path},
                   {"autoencoder_training", autoencoder.metadata.training}};
  metadata.training = training_record(config, data, state, result.validation);
  metadata.training["trained_on"] = "autoencoder codes (no augmentation); encoder frozen";
  save_model(model_path, metadata, *net);
  observer.on_train_end(train_end(config, state, result.validation, model_path));
  return result;
}

}  // namespace pneumoscan
