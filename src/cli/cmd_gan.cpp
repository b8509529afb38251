// pneumoscan gan train | sample: one DCGAN per class, as in the seed study,
// for synthetic X-rays (`train --synthetic` mixes them into training only).
#include <cstdio>
#include <filesystem>
#include <memory>

#include "cli/command.h"
#include "cli/generative_printer.h"
#include "core/errors.h"
#include "core/timing.h"
#include "data/train_val.h"
#include "generative/gan_train.h"
#include "generative/sampling.h"

namespace pneumoscan::cli {
namespace {

struct TrainArgs {
  std::string data, label = "pneumonia", out, logdir;
  int64_t limit = 0;
  GanTrainConfig config;
  bool resume = false, no_progress = false;
};

int run_train(TrainArgs& args) {
  GanTrainConfig& config = args.config;
  config.label = label_from_name(args.label);
  if (config.label != kNormal && config.label != kPneumonia)
    throw UsageError("--class must be NORMAL or PNEUMONIA, not " + args.label);
  config.loader_threads = common_options().threads;
  // Training images only: the official val/test splits stay out, as in `train`.
  std::vector<Sample> samples = read_dataset(args.data);
  std::vector<Sample> train;
  for (const auto& s : samples)
    if (s.split.empty() || s.split == "train") train.push_back(s);
  if (args.limit > 0) train = stratified_subset(train, args.limit, config.seed);
  config.data_summary = {{"source", args.data}};
  if (args.limit > 0) config.data_summary["limit"] = args.limit;
  GenerativePrinter printer(!args.no_progress);
  auto events = open_generative_log(args.logdir, std::filesystem::path(args.out).stem().string(),
                                    {{"gan", to_json(config)}, {"data", config.data_summary}}, args.resume);
  GenerativeObservers observers({&printer, events.get()});
  const GanTrainResult result = train_gan(train, config, args.out, args.resume, &observers);
  close_generative_log(events.get());
  std::printf("%zu %s images, %zu epochs, %s\nwrote %s (sample grids in %s)\n", result.images,
              kClassNames.at(static_cast<size_t>(config.label)).c_str(), result.history.size(),
              format_duration(result.seconds).c_str(), args.out.c_str(), sample_grid_dir(args.out).c_str());
  return 0;
}

struct SampleArgs {
  std::string model, out;
  int n = 64;
  uint64_t seed = 0;
};

int run_sample(const SampleArgs& args) {
  const LoadedGenerator generator = load_generator(args.model);
  const WrittenSamples written = write_samples(generator, args.model, args.n, args.seed, args.out);
  std::printf("wrote %zu %s images (seed %llu) to %s, contact sheet %s\n", written.files.size(),
              generator.metadata.label.c_str(), static_cast<unsigned long long>(args.seed), args.out.c_str(),
              written.contact_sheet.c_str());
  return 0;
}

std::function<int()> add_gan(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand("gan", "DCGAN of one class: train, sample synthetic X-rays");
  cmd->require_subcommand(1);

  auto train = std::make_shared<TrainArgs>();
  GanTrainConfig& c = train->config;
  CLI::App* train_cmd = cmd->add_subcommand("train", "Train a DCGAN on one class's training images");
  train_cmd->add_option("--data", train->data, "Data folder or CSV manifest (its training images)")->required();
  train_cmd->add_option("--class", train->label, "NORMAL or PNEUMONIA")->required();
  train_cmd->add_option("--out", train->out, "Generator file to write (grids in OUT.samples/)")->required();
  train_cmd->add_option("--limit", train->limit, "Use a stratified subset of this many training images");
  train_cmd->add_option("--epochs", c.epochs, "Epochs")->check(CLI::PositiveNumber)->capture_default_str();
  train_cmd->add_option("--batch-size", c.batch_size, "Batch size")->check(CLI::Range(2, 4096))->capture_default_str();
  train_cmd->add_option("--lr", c.learning_rate, "Adam learning rate (both networks)")->capture_default_str();
  train_cmd->add_option("--beta1", c.beta1, "Adam beta1")->capture_default_str();
  train_cmd->add_option("--image-size", c.network.image_size, "64 or 128")
      ->check(CLI::IsMember({64, 128}))
      ->capture_default_str();
  train_cmd->add_option("--width", c.network.width, "Filters of the stage nearest the image (ngf = ndf)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  train_cmd->add_option("--noise-dim", c.network.noise_dim, "Noise vector size")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  train_cmd->add_option("--real-label", c.real_label, "Target for real images (< 1: one-sided label smoothing)")
      ->capture_default_str();
  train_cmd->add_option("--seed", c.seed, "Random seed (initialisation, shuffling, noise, the grid's fixed noise)")
      ->capture_default_str();
  train_cmd->add_option("--name", c.name, "Name stored in the file")->capture_default_str();
  train_cmd->add_flag("--resume", train->resume, "Continue from OUT.ckpt after an interruption");
  train_cmd->add_flag("--no-progress", train->no_progress, "No progress bar");
  train_cmd->add_option("--logdir", train->logdir,
                        "Write TensorBoard event files (losses, the sample grid) to LOGDIR/<file stem>");

  auto sample = std::make_shared<SampleArgs>();
  CLI::App* sample_cmd = cmd->add_subcommand("sample", "Generate N images (PNG + contact sheet), reproducible by seed");
  sample_cmd->add_option("--model", sample->model, "Generator file")->required();
  sample_cmd->add_option("-n", sample->n, "Number of images")->check(CLI::PositiveNumber)->capture_default_str();
  sample_cmd->add_option("--seed", sample->seed, "Noise seed")->capture_default_str();
  sample_cmd->add_option("--out", sample->out, "Folder to write")->required();

  return [=] {
    if (train_cmd->parsed()) return run_train(*train);
    return run_sample(*sample);
  };
}

}  // namespace

PNEUMOSCAN_COMMAND(gan, add_gan);

}  // namespace pneumoscan::cli
