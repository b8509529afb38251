#include "generative/autoencoder_train.h"

#include <torch/torch.h>

#include <cmath>
#include <limits>

#include "core/errors.h"
#include "core/timing.h"
#include "data/loader.h"
#include "generative/checkpoint.h"
#include "generative/data.h"
#include "generative/pictures.h"
#include "generative/reconstruct.h"
#include "model_file/generative_file.h"
#include "models/classifier.h"
#include "models/losses.h"
#include "train/checkpoint.h"
#include "train/decode.h"
#include "train/trainer.h"

namespace pneumoscan {
namespace {

// Mean validation MSE over the cache, in eval mode.
struct ValidationFigures {
  double mse = 0, ssim = 0;
};

ValidationFigures validate(AutoencoderImpl& net, const ImageCache& cache, int batch_size) {
  const EvalModeGuard eval_mode(net);
  torch::NoGradGuard no_grad;
  BatchStream stream(cache, plain_batches(batch_size, false), 0);
  double mse = 0, similarity = 0;
  int64_t n = 0;
  while (auto batch = stream.next()) {
    const torch::Tensor reconstruction = net.forward(batch->images);
    const int64_t size = batch->images.size(0);
    mse += reconstruction_error(batch->images, reconstruction).sum().item<double>();
    similarity += ssim(batch->images, reconstruction).item<double>() * static_cast<double>(size);
    n += size;
  }
  return {mse / std::max<int64_t>(n, 1), similarity / std::max<int64_t>(n, 1)};
}

torch::Tensor reconstruction_loss(const torch::Tensor& images, const torch::Tensor& reconstruction,
                                  double ssim_weight) {
  const torch::Tensor mse = torch::mse_loss(reconstruction, images);
  return ssim_weight > 0 ? mse + ssim_weight * (1 - ssim(images, reconstruction)) : mse;
}

std::string reconstructions_picture(AutoencoderImpl& net, const ImageCache& cache, int count) {
  std::vector<cv::Mat> images;
  for (size_t i = 0; i < cache.size() && static_cast<int>(images.size()) < count; ++i)
    images.push_back(cache.image(i));
  std::vector<cv::Mat> panels;
  for (const auto& r : reconstruct(net, cache.config(), images))
    panels.push_back(reconstruction_panel(r.original, r.reconstruction));
  return panels.empty() ? std::string() : png_bytes(image_grid(panels, 1, 6), "reconstructions");
}

}  // namespace

nlohmann::json to_json(const AutoencoderTrainConfig& c) {
  nlohmann::json json = {{"input_size", c.network.input_size}, {"in_channels", c.network.in_channels},
                         {"widths", c.network.widths},         {"batch_size", c.batch_size},
                         {"learning_rate", c.learning_rate},   {"seed", c.seed}};
  if (c.ssim_weight > 0) json["ssim_weight"] = c.ssim_weight;  // absent: MSE alone, as older files
  return json;
}

AutoencoderTrainResult train_autoencoder(const std::vector<Sample>& train, const std::vector<Sample>& val,
                                         const AutoencoderTrainConfig& config, const std::string& model_path,
                                         bool resume, GenerativeObserver* observer_in) {
  if (config.epochs <= 0 || config.batch_size <= 0 || !(config.learning_rate > 0))
    throw UsageError("epochs, batch size and learning rate must be positive");
  if (!(config.ssim_weight >= 0)) throw UsageError("the SSIM weight must be 0 or more");
  if (train.empty() || val.empty()) throw UsageError("the autoencoder needs training and validation images");
  GenerativeObserver silent;
  GenerativeObserver& observer = observer_in != nullptr ? *observer_in : silent;
  const PreprocessConfig preprocess =
      autoencoder_preprocess(config.network.input_size, config.network.in_channels);
  const ImageCache train_cache =
      decode_for_training(train, preprocess, config.loader_threads, "train", observer);
  const ImageCache val_cache =
      decode_for_training(val, preprocess, config.loader_threads, "validation", observer);

  torch::manual_seed(config.seed);
  Autoencoder net(config.network);
  torch::optim::Adam optimizer(net->parameters(), torch::optim::AdamOptions(config.learning_rate));
  TrainStart start;
  start.architecture = "autoencoder";
  start.parameters = start.trainable_parameters = count_parameters(*net);
  start.epochs = config.epochs;
  observer.on_train_start(start);

  AutoencoderTrainResult result;
  NamedTensors best = snapshot(*net);
  int epochs_completed = 0;
  double best_val = std::numeric_limits<double>::infinity();
  const std::string checkpoint = checkpoint_path(model_path);
  const CheckpointParts parts{{{"autoencoder", net.get()}}, {{"best", &best}}, {{"adam", &optimizer}}};
  if (resume) {
    const nlohmann::json state = load_parts(checkpoint, to_json(config), parts);
    epochs_completed = state.at("epochs_completed");
    best_val = state.at("best_val_mse");
    result.best_val_ssim = state.value("best_val_ssim", 0.0);
    result.best_epoch = state.at("best_epoch");
    result.seconds = state.at("seconds");
    for (const auto& r : state.at("history")) result.history.push_back(epoch_record_from_json(r));
    observer.on_resumed(checkpoint, epochs_completed);
  }

  for (int epoch = epochs_completed + 1; epoch <= config.epochs; ++epoch) {
    const Stopwatch stopwatch;
    torch::manual_seed(config.seed + static_cast<uint64_t>(epoch));
    net->train();
    BatchStream stream(train_cache, plain_batches(config.batch_size, true, config.seed), epoch);
    observer.on_epoch_start(epoch, config.epochs, stream.num_batches());
    double sum = 0;
    int64_t seen = 0;
    size_t step = 0;
    while (auto batch = stream.next()) {
      optimizer.zero_grad();
      const torch::Tensor loss =
          reconstruction_loss(batch->images, net->forward(batch->images), config.ssim_weight);
      loss.backward();
      optimizer.step();
      const double value = loss.item<double>();
      TORCH_CHECK(std::isfinite(value), "autoencoder training diverged at epoch ", epoch,
                  "; lower the learning rate");
      sum += value * batch->images.size(0);
      seen += batch->images.size(0);
      observer.on_step({epoch, ++step, stream.num_batches(), seen, sum / seen, config.learning_rate});
    }
    const double train_seconds = stopwatch.seconds();
    EpochRecord record;
    record.epoch = epoch;
    record.learning_rate = config.learning_rate;
    record.train_loss = sum / std::max<int64_t>(seen, 1);
    const ValidationFigures validation = validate(*net, val_cache, config.batch_size);
    record.val_loss = validation.mse;
    record.images_per_second = seen / std::max(train_seconds, 1e-9);
    record.best = record.val_loss < best_val;
    if (record.best) {
      best_val = record.val_loss;
      best = snapshot(*net);
      result.best_epoch = epoch;
      result.best_val_ssim = validation.ssim;
    }
    const std::string picture = reconstructions_picture(*net, val_cache, config.pictures);
    record.seconds = stopwatch.seconds();
    result.history.push_back(record);
    result.seconds += record.seconds;
    nlohmann::json history = nlohmann::json::array();
    for (const auto& r : result.history) history.push_back(to_json(r));
    save_parts(checkpoint,
               {{"settings", to_json(config)},
                {"epochs_completed", epoch},
                {"best_val_mse", best_val},
                {"best_val_ssim", result.best_val_ssim},
                {"best_epoch", result.best_epoch},
                {"seconds", result.seconds},
                {"history", history}},
               parts);
    write_epoch_logs(model_path, result.history);
    observer.on_figures(epoch, {{"train_loss", record.train_loss},
                                {"val_mse", record.val_loss},
                                {"val_ssim", validation.ssim},
                                {"learning_rate", record.learning_rate},
                                {"images_per_second", record.images_per_second},
                                {"seconds", record.seconds}});
    if (!picture.empty()) observer.on_picture(epoch, "reconstructions", picture);
    observer.on_epoch_end(record, config.epochs);
  }

  load_state_dict(*net, best, checkpoint);
  result.best_val_mse = best_val;
  GenerativeMetadata metadata;
  metadata.name = config.name;
  metadata.preprocess = preprocess;
  nlohmann::json data = config.data_summary;
  data["train_images"] = train_cache.size();
  data["val_images"] = val_cache.size();
  data["skipped_unreadable"] = train_cache.failures().size() + val_cache.failures().size();
  metadata.training = {{"config", to_json(config)},
                       {"data", data},
                       {"epochs_run", static_cast<int>(result.history.size())},
                       {"best_epoch", result.best_epoch},
                       {"best_val_mse", best_val},
                       {"best_val_ssim", result.best_val_ssim},
                       {"training_seconds", result.seconds}};
  save_autoencoder(model_path, metadata, *net);
  TrainEnd end;
  end.epochs_run = static_cast<int>(result.history.size());
  end.best_epoch = result.best_epoch;
  end.seconds = result.seconds;
  end.model_path = model_path;
  observer.on_train_end(end);
  return result;
}

}  // namespace pneumoscan
