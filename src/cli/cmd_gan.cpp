// pneumoscan gan train | sample | evaluate: one DCGAN per class, as in the
// seed study, for synthetic X-rays (`train --synthetic` mixes them into
// training only), and how good and how original its samples are.
#include <cstdio>
#include <filesystem>
#include <memory>
#include <random>

#include "cli/command.h"
#include "cli/generative_printer.h"
#include "core/atomic_file.h"
#include "core/errors.h"
#include "core/json_text.h"
#include "core/timing.h"
#include "data/train_val.h"
#include "generative/gan_train.h"
#include "generative/pictures.h"
#include "generative/sample_quality.h"
#include "generative/sampling.h"
#include "image/image.h"
#include "image/preprocess.h"

namespace pneumoscan::cli {
namespace {

struct TrainArgs {
  std::string data, label = "pneumonia", out, logdir;
  int64_t limit = 0;
  GanTrainConfig config;
  bool resume = false, no_progress = false;
};

// The training images of a data set (its official val/test splits stay out, as in `train`).
std::vector<Sample> training_images(const std::string& data) {
  std::vector<Sample> train;
  for (const auto& s : read_dataset(data))
    if (s.split.empty() || s.split == "train") train.push_back(s);
  return train;
}

int run_train(TrainArgs& args) {
  GanTrainConfig& config = args.config;
  config.label = label_from_name(args.label);
  if (config.label != kNormal && config.label != kPneumonia)
    throw UsageError("--class must be NORMAL or PNEUMONIA, not " + args.label);
  config.loader_threads = common_options().threads;
  std::vector<Sample> train = training_images(args.data);
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

struct EvaluateArgs {
  std::string model, data, features, out;
  int n = 256, real = 512;
  uint64_t seed = 0;
};

// Training images of the generator's class, shuffled by seed, prepared as gan
// training prepared them; unreadable files are counted and skipped.
std::vector<cv::Mat> real_images(const EvaluateArgs& args, int label, int64_t size, size_t& skipped) {
  std::vector<Sample> of_class;
  for (const Sample& s : training_images(args.data))
    if (s.label == label) of_class.push_back(s);
  std::mt19937_64 rng(args.seed);
  std::shuffle(of_class.begin(), of_class.end(), rng);
  const PreprocessConfig prepare = generator_preprocess(size);
  std::vector<cv::Mat> images;
  for (const Sample& s : of_class) {
    if (static_cast<int>(images.size()) >= args.real) break;
    try {
      images.push_back(resize_for_model(decode_image(s.path), prepare));
    } catch (const InputError&) {
      ++skipped;
    }
  }
  if (images.size() < kLeastRealImages)
    throw UsageError(args.data + ": " + std::to_string(images.size()) +
                     " readable training images of class " + kClassNames.at(static_cast<size_t>(label)) +
                     " (of " + std::to_string(of_class.size()) + "); gan evaluate needs at least " +
                     std::to_string(kLeastRealImages));
  return images;
}

int run_evaluate(const EvaluateArgs& args) {
  const Stopwatch watch;
  LoadedGenerator generator = load_generator(args.model);
  const int label = label_from_name(generator.metadata.label);
  size_t skipped = 0;
  const std::vector<cv::Mat> real = real_images(args, label, generator.net->options.image_size, skipped);
  const std::vector<cv::Mat> samples =
      generate_images(*generator.net, seeded_noise(args.n, generator.net->options.noise_dim, args.seed));
  const SampleQuality q =
      measure_sample_quality(real, samples, imagenet_resnet50_features(args.features), args.seed);
  nlohmann::json report = to_json(q);
  report["model"] = args.model;
  report["class"] = generator.metadata.label;
  report["image_size"] = generator.net->options.image_size;
  report["seed"] = args.seed;
  report["features"] = "ImageNet ResNet-50, global-average-pooled (2048)";
  report["unreadable_real_images"] = skipped;
  report["seconds"] = watch.seconds();
  std::printf("%s generator %s, %lld samples (seed %llu) against %lld + %lld real %s images at %lld px\n",
              generator.metadata.label.c_str(), args.model.c_str(), static_cast<long long>(q.samples),
              static_cast<unsigned long long>(args.seed), static_cast<long long>(q.reference_images),
              static_cast<long long>(q.held_out_images), generator.metadata.label.c_str(),
              static_cast<long long>(generator.net->options.image_size));
  std::printf("Frechet distance (ResNet-50 features) %.2f   real vs real at this count %.2f\n", q.frechet,
              q.frechet_real_floor);
  std::printf("real-vs-synthetic classifier accuracy %.3f   (0.5: indistinguishable)\n",
              q.classifier_accuracy);
  std::printf(
      "nearest real image, cosine: samples median %.4f, held-out real median %.4f, max %.4f; "
      "possible copies %lld\n",
      q.sample_nearest_median, q.held_out_nearest_median, q.held_out_nearest_max,
      static_cast<long long>(q.possible_copies));
  if (!args.out.empty()) {
    std::filesystem::create_directories(args.out);
    const std::string json_path = (std::filesystem::path(args.out) / "quality.json").string();
    write_file_atomically(json_path, json_text(report, 2) + "\n");
    // Each sample beside the reference image nearest to it: copies show as twins.
    std::vector<cv::Mat> tiles;
    for (size_t i = 0; i < q.closest_samples.size(); ++i) {
      tiles.push_back(samples[static_cast<size_t>(q.closest_samples[i])]);
      tiles.push_back(real[static_cast<size_t>(q.their_references[i])]);
    }
    const std::string pairs_path = (std::filesystem::path(args.out) / "nearest_pairs.png").string();
    write_file_atomically(pairs_path, png_bytes(image_grid(tiles, 2), pairs_path));
    std::printf("wrote %s and %s (each sample beside its nearest real image)\n", json_path.c_str(),
                pairs_path.c_str());
  }
  return 0;
}

std::function<int()> add_gan(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand("gan", "DCGAN of one class: train, sample synthetic X-rays");
  cmd->require_subcommand(1);

  auto train = std::make_shared<TrainArgs>();
  GanTrainConfig& c = train->config;
  CLI::App* train_cmd = cmd->add_subcommand("train", "Train a DCGAN on one class's training images");
  train_cmd->add_option("--data", train->data, "Data folder or CSV manifest (its training images)")
      ->required();
  train_cmd->add_option("--class", train->label, "NORMAL or PNEUMONIA")->required();
  train_cmd->add_option("--out", train->out, "Generator file to write (grids in OUT.samples/)")->required();
  train_cmd->add_option("--limit", train->limit, "Use a stratified subset of this many training images");
  train_cmd->add_option("--epochs", c.epochs, "Epochs")->check(CLI::PositiveNumber)->capture_default_str();
  train_cmd->add_option("--batch-size", c.batch_size, "Batch size")
      ->check(CLI::Range(2, 4096))
      ->capture_default_str();
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
  train_cmd
      ->add_option("--real-label", c.real_label, "Target for real images (< 1: one-sided label smoothing)")
      ->capture_default_str();
  train_cmd
      ->add_option("--seed", c.seed, "Random seed (initialisation, shuffling, noise, the grid's fixed noise)")
      ->capture_default_str();
  train_cmd->add_option("--name", c.name, "Name stored in the file")->capture_default_str();
  train_cmd->add_flag("--resume", train->resume, "Continue from OUT.ckpt after an interruption");
  train_cmd->add_flag("--no-progress", train->no_progress, "No progress bar");
  train_cmd->add_option("--logdir", train->logdir,
                        "Write TensorBoard event files (losses, the sample grid) to LOGDIR/<file stem>");

  auto sample = std::make_shared<SampleArgs>();
  CLI::App* sample_cmd =
      cmd->add_subcommand("sample", "Generate N images (PNG + contact sheet), reproducible by seed");
  sample_cmd->add_option("--model", sample->model, "Generator file")->required();
  sample_cmd->add_option("-n", sample->n, "Number of images")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  sample_cmd->add_option("--seed", sample->seed, "Noise seed")->capture_default_str();
  sample_cmd->add_option("--out", sample->out, "Folder to write")->required();

  auto evaluate = std::make_shared<EvaluateArgs>();
  CLI::App* evaluate_cmd = cmd->add_subcommand(
      "evaluate",
      "Sample quality against real images of the class: Frechet distance, a real-vs-synthetic "
      "classifier, nearest-neighbour copy check (docs/generative.md)");
  evaluate_cmd->add_option("--model", evaluate->model, "Generator file")->required();
  evaluate_cmd
      ->add_option("--data", evaluate->data, "Data folder or manifest (its training images of the class)")
      ->required();
  evaluate_cmd
      ->add_option(
          "--features", evaluate->features,
          "ImageNet ResNet-50 weights, torchvision layout (../shared/pretrained/resnet50_imagenet.pt)")
      ->required()
      ->check(CLI::ExistingFile);
  evaluate_cmd->add_option("-n", evaluate->n, "Samples to draw")
      ->check(CLI::Range(4, 100000))
      ->capture_default_str();
  evaluate_cmd->add_option("--real", evaluate->real, "Real images to use (half reference, half held out)")
      ->check(CLI::Range(8, 100000))
      ->capture_default_str();
  evaluate_cmd->add_option("--seed", evaluate->seed, "Noise and split seed")->capture_default_str();
  evaluate_cmd->add_option("--out", evaluate->out, "Folder for quality.json and nearest_pairs.png");

  return [=] {
    if (train_cmd->parsed()) return run_train(*train);
    if (evaluate_cmd->parsed()) return run_evaluate(*evaluate);
    return run_sample(*sample);
  };
}

}  // namespace

PNEUMOSCAN_COMMAND(gan, add_gan);

}  // namespace pneumoscan::cli
