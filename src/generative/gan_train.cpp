#include "generative/gan_train.h"

#include <torch/torch.h>

#include <cmath>
#include <filesystem>

#include "core/atomic_file.h"
#include "core/errors.h"
#include "core/text.h"
#include "core/timing.h"
#include "data/loader.h"
#include "generative/checkpoint.h"
#include "generative/data.h"
#include "generative/pictures.h"
#include "generative/sampling.h"
#include "model_file/generative_file.h"
#include "models/classifier.h"
#include "train/decode.h"
#include "train/trainer.h"

namespace pneumoscan {
namespace {

torch::Tensor targets(int64_t n, double value) { return torch::full({n}, value, torch::kFloat32); }

struct EpochSums {
  double d_loss = 0, g_loss = 0, d_real = 0, d_fake = 0;
  int64_t images = 0;
};

}  // namespace

std::string sample_grid_dir(const std::string& model_path) { return model_path + ".samples"; }

nlohmann::json to_json(const GanTrainConfig& c) {
  return {{"image_size", c.network.image_size},
          {"noise_dim", c.network.noise_dim},
          {"width", c.network.width},
          {"channels", c.network.channels},
          {"class", kClassNames.at(static_cast<size_t>(c.label))},
          {"batch_size", c.batch_size},
          {"learning_rate", c.learning_rate},
          {"beta1", c.beta1},
          {"real_label", c.real_label},
          {"seed", c.seed}};
}

GanTrainResult train_gan(const std::vector<Sample>& samples, const GanTrainConfig& config,
                         const std::string& model_path, bool resume, GenerativeObserver* observer_in) {
  check_dcgan_options(config.network);
  if (config.epochs <= 0 || config.batch_size <= 1 || !(config.learning_rate > 0) || config.grid_images <= 0)
    throw UsageError("epochs, learning rate and grid size must be positive and the batch size at least 2");
  if (!(config.real_label > 0.5 && config.real_label <= 1.0))
    throw UsageError("the real label must lie in (0.5, 1]");
  GenerativeObserver silent;
  GenerativeObserver& observer = observer_in != nullptr ? *observer_in : silent;
  const PreprocessConfig preprocess =
      generator_preprocess(config.network.image_size, config.network.channels);
  const ImageCache cache = decode_for_training(samples_of_class(samples, config.label), preprocess,
                                               config.loader_threads, "train", observer);
  if (cache.size() < 2) throw UsageError("a GAN needs at least two readable images of the class");

  torch::manual_seed(config.seed);
  Generator generator(config.network);
  Discriminator discriminator(config.network);
  const auto adam = torch::optim::AdamOptions(config.learning_rate).betas({config.beta1, 0.999});
  torch::optim::Adam g_optimizer(generator->parameters(), adam);
  torch::optim::Adam d_optimizer(discriminator->parameters(), adam);
  const torch::Tensor fixed_noise = seeded_noise(config.grid_images, config.network.noise_dim, config.seed);
  TrainStart start;
  start.architecture = "dcgan-" + std::to_string(config.network.image_size);
  start.parameters = start.trainable_parameters =
      count_parameters(*generator) + count_parameters(*discriminator);
  start.epochs = config.epochs;
  observer.on_train_start(start);

  GanTrainResult result;
  result.images = cache.size();
  int epochs_completed = 0;
  const std::string checkpoint = checkpoint_path(model_path);
  const CheckpointParts parts{{{"generator", generator.get()}, {"discriminator", discriminator.get()}},
                              {},
                              {{"generator", &g_optimizer}, {"discriminator", &d_optimizer}}};
  if (resume) {
    const nlohmann::json state = load_parts(checkpoint, to_json(config), parts);
    epochs_completed = state.at("epochs_completed");
    result.seconds = state.at("seconds");
    for (const auto& h : state.at("history")) result.history.push_back(h);
    observer.on_resumed(checkpoint, epochs_completed);
  }
  std::filesystem::create_directories(sample_grid_dir(model_path));

  for (int epoch = epochs_completed + 1; epoch <= config.epochs; ++epoch) {
    const Stopwatch stopwatch;
    torch::manual_seed(config.seed + static_cast<uint64_t>(epoch));  // the noise, reproducible across resumes
    generator->train();
    discriminator->train();
    BatchStream stream(cache, plain_batches(config.batch_size, true, config.seed), epoch);
    observer.on_epoch_start(epoch, config.epochs, stream.num_batches());
    EpochSums sums;
    size_t step = 0;
    while (auto batch = stream.next()) {
      const torch::Tensor real = batch->images;
      const int64_t n = real.size(0);
      // Discriminator: real -> real_label, generated -> 0.
      d_optimizer.zero_grad();
      const torch::Tensor real_logits = discriminator->forward(real);
      const torch::Tensor fake = generator->forward(torch::randn({n, config.network.noise_dim}));
      const torch::Tensor fake_logits = discriminator->forward(fake.detach());
      const torch::Tensor d_loss =
          torch::binary_cross_entropy_with_logits(real_logits, targets(n, config.real_label)) +
          torch::binary_cross_entropy_with_logits(fake_logits, targets(n, 0.0));
      d_loss.backward();
      d_optimizer.step();
      // Generator: make the discriminator call its images real.
      g_optimizer.zero_grad();
      const torch::Tensor g_loss =
          torch::binary_cross_entropy_with_logits(discriminator->forward(fake), targets(n, 1.0));
      g_loss.backward();
      g_optimizer.step();
      const double d = d_loss.item<double>(), g = g_loss.item<double>();
      TORCH_CHECK(std::isfinite(d) && std::isfinite(g), "GAN training diverged at epoch ", epoch);
      sums.d_loss += d * n;
      sums.g_loss += g * n;
      sums.d_real += torch::sigmoid(real_logits.detach()).sum().item<double>();
      sums.d_fake += torch::sigmoid(fake_logits.detach()).sum().item<double>();
      sums.images += n;
      observer.on_step({epoch, ++step, stream.num_batches(), sums.images, sums.d_loss / sums.images,
                        config.learning_rate});
    }
    const double train_seconds = stopwatch.seconds();
    const cv::Mat grid = sample_grid(*generator, fixed_noise);
    const std::string grid_path =
        format_string("%s/epoch-%03d.png", sample_grid_dir(model_path).c_str(), epoch);
    const std::string png = png_bytes(grid, grid_path);
    write_file_atomically(grid_path, png);
    result.grids.push_back(grid_path);
    const double images = static_cast<double>(std::max<int64_t>(sums.images, 1));
    const NamedFigures figures = {{"d_loss", sums.d_loss / images},
                                  {"g_loss", sums.g_loss / images},
                                  {"d_real", sums.d_real / images},
                                  {"d_fake", sums.d_fake / images},
                                  {"images_per_second", sums.images / std::max(train_seconds, 1e-9)},
                                  {"seconds", stopwatch.seconds()}};
    nlohmann::json record = {{"epoch", epoch}};
    for (const auto& [name, value] : figures) record[name] = value;
    result.history.push_back(record);
    result.seconds += stopwatch.seconds();

    GenerativeMetadata metadata;
    metadata.name = config.name;
    metadata.preprocess = preprocess;
    metadata.label = kClassNames.at(static_cast<size_t>(config.label));
    nlohmann::json data = config.data_summary;
    data["train_images"] = cache.size();
    data["skipped_unreadable"] = cache.failures().size();
    metadata.training = {{"config", to_json(config)},
                         {"data", data},
                         {"epochs_run", epoch},
                         {"training_seconds", result.seconds},
                         {"last_epoch", record}};
    save_generator(model_path, metadata, *generator);
    save_parts(checkpoint,
               {{"settings", to_json(config)},
                {"epochs_completed", epoch},
                {"seconds", result.seconds},
                {"history", result.history}},
               parts);
    std::string log;
    for (const auto& h : result.history) log += h.dump() + "\n";
    write_file_atomically(model_path + ".log.jsonl", log);
    observer.on_figures(epoch, figures);
    observer.on_picture(epoch, "samples", png);
    EpochRecord epoch_record;
    epoch_record.epoch = epoch;
    epoch_record.train_loss = sums.d_loss / images;
    epoch_record.seconds = stopwatch.seconds();
    epoch_record.images_per_second = sums.images / std::max(train_seconds, 1e-9);
    observer.on_epoch_end(epoch_record, config.epochs);
  }
  TrainEnd end;
  end.epochs_run = static_cast<int>(result.history.size());
  end.seconds = result.seconds;
  end.model_path = model_path;
  observer.on_train_end(end);
  return result;
}

}  // namespace pneumoscan
