#include "train/trainer.h"

#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "core/errors.h"
#include "core/text.h"
#include "core/timing.h"
#include "data/loader.h"
#include "distributed/sampler.h"
#include "distributed/sync.h"
#include "eval/multiclass.h"
#include "eval/predict_cache.h"
#include "models/losses.h"
#include "models/pretrained.h"
#include "train/checkpoint.h"
#include "train/decode.h"
#include "train/finalise.h"
#include "train/optimizer.h"
#include "train/schedule.h"
#include "train/step.h"
#include "train/weight_average.h"

namespace pneumoscan {
namespace {

std::vector<int64_t> count_labels(const std::vector<int>& labels, size_t classes) {
  std::vector<int64_t> counts(classes, 0);
  for (int label : labels) counts.at(static_cast<size_t>(label))++;
  return counts;
}

// The samples with `label` replaced by their index in the class list.
std::vector<Sample> with_class_indices(const std::vector<Sample>& samples,
                                       const std::vector<std::string>& classes, const char* what) {
  if (samples.empty()) throw UsageError(std::string("no ") + what + " images");
  std::vector<Sample> mapped = samples;
  for (auto& s : mapped) {
    if (s.label != kNormal && s.label != kPneumonia)
      throw InputError(s.path, "has no NORMAL/PNEUMONIA label");
    s.label = class_index(s, classes);
    if (s.label < 0)
      throw InputError(s.path,
                       "pneumonia of unknown type; a class list with types needs it in the file name "
                       "(_bacteria_, _virus_) or the manifest label (bacterial, viral)");
  }
  return mapped;
}

std::string lowercase_name(std::string name) {
  for (char& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return name;
}

// The seeded network with the pretrained weights imported, on its device.
Classifier build_network(const TrainConfig& config, const torch::Device& device, TrainObserver& observer) {
  torch::manual_seed(config.seed);
  Classifier net = create_model(config.spec);
  if (!config.pretrained_path.empty())
    observer.on_pretrained_imported(config.pretrained_path,
                                    format(import_pretrained(*net, config.pretrained_path)));
  net->to(device);
  if (config.channels_last) to_channels_last(*net);
  return net;
}

// Rank 0's checkpoint as a file this rank can read: rank 0's own path there,
// a temporary copy of the bytes it sends on the others (removed by the caller).
std::string checkpoint_from_root(const std::string& path, Communicator& comm) {
  std::string bytes;
  if (comm.is_root()) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream content;
    content << in.rdbuf();
    bytes = content.str();
  }
  bytes = bytes_from_root(bytes, comm);
  if (comm.is_root()) return path;
  if (bytes.empty()) throw ModelFileError(path, "rank 0 has no checkpoint to resume from");
  const std::string copy =
      (std::filesystem::temp_directory_path() /
       ("pneumoscan-rank" + std::to_string(comm.rank()) + "-" + std::to_string(::getpid()) + ".ckpt"))
          .string();
  std::ofstream out(copy, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out.flush()) throw IoError(copy, "cannot write rank 0's checkpoint here");
  return copy;
}

// One run's working set: the network, its optimiser, the decoded data and
// the state a checkpoint carries; `comm` for data-parallel training.
struct Run {
  const TrainConfig& config;
  TrainObserver& observer;
  torch::Device device;
  Classifier net;
  std::unique_ptr<torch::optim::Optimizer> optimizer;
  ImageCache train_cache, val_cache;
  std::string model_path;
  Communicator* comm = nullptr;
  std::vector<int64_t> train_counts, val_counts;
  std::vector<double> class_weights;
  TrainingState state;
  NamedTensors best;
  std::unique_ptr<WeightAverage> average;  // config.ema_decay > 0

  bool is_root() const { return comm == nullptr || comm->is_root(); }
  void start(bool resume);
  BatchStream epoch_stream(int epoch) const;
  double validate(int epoch, EpochRecord& record);
  void run_one_epoch(int epoch);
  TrainResult finalise(const PreprocessConfig& preprocess);
};

// Class counts and weights, the first events, and the checkpoint when resuming.
void Run::start(bool resume) {
  const size_t classes = config.class_names.size();
  train_counts = count_labels(train_cache.labels(), classes);
  val_counts = count_labels(val_cache.labels(), classes);
  for (size_t c = 0; c < classes; ++c)
    if (train_counts[c] == 0 || val_counts[c] == 0)
      throw UsageError("training and validation data both need images of every class (" +
                       join(config.class_names, ", ") + ")");
  class_weights = training_class_weights(config, train_counts);
  TrainStart started;
  started.architecture = config.spec.architecture;
  for (const auto& p : trainable_parameters(*net)) started.trainable_parameters += p.numel();
  started.parameters = count_parameters(*net);
  started.features_frozen = features_frozen(config, 1);
  started.class_names = config.class_names;
  started.class_weights = class_weights;
  started.epochs = config.epochs;
  observer.on_train_start(started);

  state.schedule.learning_rate = config.learning_rate;
  best = snapshot(*net);
  if (config.ema_decay > 0) average = std::make_unique<WeightAverage>(*net, config.ema_decay);
  if (resume) {
    const std::string path = checkpoint_path(model_path);
    const std::string readable = comm != nullptr ? checkpoint_from_root(path, *comm) : path;
    try {
      load_checkpoint(readable, config, state, *net, best, optimizer, average.get());
    } catch (...) {
      if (readable != path) std::filesystem::remove(readable);
      throw;
    }
    if (readable != path) std::filesystem::remove(readable);
    observer.on_resumed(path, state.epochs_completed);
  }
}

// This process's batches of `epoch`: all of the training set, or this rank's shard with its part of the
// batch.
BatchStream Run::epoch_stream(int epoch) const {
  BatchOptions options;
  options.batch_size = config.batch_size / (comm != nullptr ? comm->world_size() : 1);
  options.shuffle = true;
  options.augment = config.augment.enabled;
  options.augment_config = config.augment;
  options.seed = config.seed;
  options.channels_last = config.channels_last;
  if (config.sampling == "balanced") options.sample_weights = balanced_sample_weights(train_cache.labels());
  if (comm == nullptr) return BatchStream(train_cache, options, epoch);
  return BatchStream(
      train_cache, options, epoch,
      shard_of(epoch_order(train_cache.size(), options, epoch), comm->rank(), comm->world_size()));
}

// Rank 0 validates on the whole validation set and fills the validation
// fields of `record`; every rank gets its validation loss.
double Run::validate(int epoch, EpochRecord& record) {
  double loss = 0;
  if (is_root()) {
    const CachePredictions val =
        predict_cache(*net, val_cache, config.batch_size, class_weights, device, config.channels_last);
    const BinaryMetrics metrics = compute_metrics(val.probabilities, val.labels, 0.5);
    const PreprocessConfig preprocess = training_preprocess(config);
    observer.on_validated({epoch, net.get(), &preprocess, config.device, &val.probabilities, &val.labels});
    loss = val.loss;
    record.val_accuracy = metrics.accuracy;
    record.val_roc_auc = metrics.roc_auc;
    record.val_recall = metrics.recall;
    record.val_specificity = metrics.specificity;
  }
  if (comm != nullptr) loss = from_root({loss}, *comm).at(0);
  record.val_loss = loss;
  return loss;
}

// Trains one epoch, validates, steps the schedule, and writes the checkpoint and the logs.
void Run::run_one_epoch(int epoch) {
  const Stopwatch stopwatch;
  PlateauSchedule& schedule = state.schedule;
  if (features_frozen(config, epoch - 1) && !features_frozen(config, epoch)) {
    optimizer = make_optimizer(*net, config, epoch, schedule.learning_rate);
    observer.on_features_unfrozen(epoch, count_parameters(*net), schedule.learning_rate);
  }
  // Dropout, reproducible across resumes; other masks on each rank (rank 0's are a single process's).
  const uint64_t rank = comm != nullptr ? static_cast<uint64_t>(comm->rank()) : 0;
  torch::manual_seed(config.seed + static_cast<uint64_t>(epoch) + 1000003ull * rank);
  net->train();
  if (config.freeze_batchnorm_stats) freeze_batchnorm_statistics(*net);
  BatchStream stream = epoch_stream(epoch);
  observer.on_epoch_start(epoch, config.epochs, stream.num_batches());
  StepOptions step;
  step.class_weights = class_weights;
  step.label_smoothing = config.label_smoothing;
  step.mixup_alpha = config.mixup_alpha;
  step.seed = config.seed;
  step.precision = config.precision;
  step.comm = comm;
  step.average = average.get();
  const EpochTotals totals =
      run_epoch(*net, *optimizer, stream, step, device, epoch, schedule.learning_rate, observer);
  if (comm != nullptr) average_buffers(*net, *comm);
  const double train_seconds = stopwatch.seconds();
  // With weight averaging the average is what is validated, kept as the best and saved; the
  // last step's weights go on training.
  NamedTensors live;
  if (average) {
    live = snapshot(*net);
    load_state_dict(*net, average->weights(), "the weight average");
  }

  EpochRecord record;
  record.epoch = epoch;
  record.learning_rate = schedule.learning_rate;
  record.train_loss = totals.mean_loss;
  record.train_accuracy = totals.accuracy;
  const double val_loss = validate(epoch, record);
  record.seconds = stopwatch.seconds();
  record.images_per_second = totals.images / std::max(train_seconds, 1e-9);

  switch (schedule.update(epoch, val_loss, config.plateau_patience, config.plateau_factor,
                          config.min_learning_rate)) {
    case PlateauSchedule::Outcome::kImproved:
      best = snapshot(*net);
      record.best = true;
      break;
    case PlateauSchedule::Outcome::kLearningRateCut:
      set_learning_rate(*optimizer, config, schedule.learning_rate);
      observer.on_learning_rate_cut(config.plateau_patience, schedule.learning_rate);
      break;
    case PlateauSchedule::Outcome::kNotImproved:
      break;
  }
  if (average) load_state_dict(*net, live, "the training weights");
  state.history.push_back(record);
  state.epochs_completed = epoch;
  state.seconds += record.seconds;
  if (is_root()) {
    save_checkpoint(checkpoint_path(model_path), state, config, *net, best, *optimizer, average.get());
    write_epoch_logs(model_path, state.history);
  }
  observer.on_epoch_end(record, config.epochs);
}

// The best epoch's weights, a threshold that reaches the target sensitivity
// on validation, and the model file.
TrainResult Run::finalise(const PreprocessConfig& preprocess) {
  if (!is_root()) {
    TrainResult result;
    result.history = state.history;
    result.best_epoch = state.schedule.best_epoch;
    result.seconds = state.seconds;
    return result;
  }
  load_state_dict(*net, best, checkpoint_path(model_path));
  const CachePredictions final_predictions =
      predict_cache(*net, val_cache, config.batch_size, class_weights, device, config.channels_last);
  const double threshold = threshold_for_sensitivity(final_predictions.probabilities,
                                                     final_predictions.labels, config.target_sensitivity);
  TrainResult result;
  result.validation = compute_metrics(final_predictions.probabilities, final_predictions.labels, threshold);
  result.val_probabilities = final_predictions.probabilities;
  result.val_labels = final_predictions.labels;
  result.val_class_labels = final_predictions.class_labels;
  result.val_class_probabilities = final_predictions.class_probabilities;
  result.history = state.history;
  result.best_epoch = state.schedule.best_epoch;
  result.seconds = state.seconds;

  ModelMetadata& metadata = result.metadata;
  metadata.name = config.model_name;
  metadata.spec = config.spec;
  metadata.preprocess = preprocess;
  metadata.threshold = threshold;
  metadata.class_names = config.class_names;
  const size_t classes = config.class_names.size();
  nlohmann::json data = config.data_summary;
  data["train_images"] = train_cache.size();
  data["train_normal"] = train_counts[0];
  data["train_pneumonia"] = train_cache.size() - train_counts[0];
  data["val_images"] = val_cache.size();
  data["val_normal"] = val_counts[0];
  data["val_pneumonia"] = val_cache.size() - val_counts[0];
  for (size_t c = 1; classes > 2 && c < classes; ++c) {
    const std::string name = lowercase_name(config.class_names[c]);
    data["train_" + name] = train_counts[c];
    data["val_" + name] = val_counts[c];
  }
  data["skipped_unreadable"] = train_cache.failures().size() + val_cache.failures().size();
  metadata.training = training_record(config, data, state, result.validation);
  if (classes > 2)
    metadata.training["validation_classes"] =
        to_json(compute_multiclass_metrics(final_predictions.class_probabilities,
                                           final_predictions.class_labels, config.class_names, threshold));
  save_model(model_path, metadata, *net);

  observer.on_train_end(train_end(config, state, result.validation, model_path));
  return result;
}

}  // namespace

std::string checkpoint_path(const std::string& model_path) { return model_path + ".ckpt"; }

TrainResult train_model(const std::vector<Sample>& train, const std::vector<Sample>& val,
                        const TrainConfig& config_in, const std::string& model_path, bool resume,
                        TrainObserver* observer, Communicator* comm) {
  TrainObserver silent;
  TrainObserver& events = observer != nullptr && (comm == nullptr || comm->is_root()) ? *observer : silent;
  const TrainConfig config = completed(config_in);  // validates
  if (comm != nullptr && config.batch_size % comm->world_size() != 0)
    throw UsageError("the batch size (" + std::to_string(config.batch_size) +
                     ", global) must be a multiple of the world size (" + std::to_string(comm->world_size()) +
                     ")");
  if (config.spec.architecture == "latent-cnn")
    throw UsageError(
        "latent-cnn trains on autoencoder codes: `pneumoscan train --arch latent-cnn --codes CODES` "
        "(codes from `pneumoscan autoencoder encode`)");
  const std::vector<Sample> train_mapped = with_class_indices(train, config.class_names, "training");
  const std::vector<Sample> val_mapped = with_class_indices(val, config.class_names, "validation");
  const PreprocessConfig preprocess = training_preprocess(config);
  const torch::Device device(config.device);
  check_precision_supported(config.precision, device);
  Classifier net = build_network(config, device, events);
  if (comm != nullptr) broadcast_module(*net, *comm);
  auto optimizer = make_optimizer(*net, config, 1, config.learning_rate);
  Run run{config,
          events,
          device,
          net,
          std::move(optimizer),
          decode_for_training(train_mapped, preprocess, config.loader_threads, "train", events),
          decode_for_training(val_mapped, preprocess, config.loader_threads, "validation", events),
          model_path,
          comm,
          {},
          {},
          {},
          {},
          {},
          {}};
  run.start(resume);
  for (int epoch = run.state.epochs_completed + 1; epoch <= config.epochs; ++epoch) {
    if (run.state.schedule.exhausted(config.early_stopping_patience)) break;
    run.run_one_epoch(epoch);
  }
  if (run.state.schedule.exhausted(config.early_stopping_patience))
    events.on_early_stop(config.early_stopping_patience, run.state.schedule.best_epoch);
  return run.finalise(preprocess);
}

}  // namespace pneumoscan
