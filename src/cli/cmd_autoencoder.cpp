// pneumoscan autoencoder train | encode | reconstruct: the seed study's
// convolutional autoencoder, its codes for the latent CNN, and what it makes
// of single images (reconstruction error: an out-of-distribution score).
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>

#include "cli/command.h"
#include "cli/generative_printer.h"
#include "cli/progress.h"
#include "core/atomic_file.h"
#include "core/errors.h"
#include "core/text.h"
#include "core/timing.h"
#include "data/train_val.h"
#include "generative/autoencoder_train.h"
#include "generative/codes.h"
#include "generative/pictures.h"
#include "generative/reconstruct.h"
#include "model_file/generative_file.h"

namespace pneumoscan::cli {
namespace {

struct TrainArgs {
  TrainValOptions data;
  AutoencoderTrainConfig config;
  std::string out, logdir;
  bool resume = false, no_progress = false;
};

int run_train(TrainArgs& args) {
  args.config.loader_threads = common_options().threads;
  args.data.seed = args.config.seed;
  const TrainValSplit split = prepare_train_val(args.data);
  std::printf("autoencoder: training on %zu images, validating on %zu: %s\n", split.train.size(),
              split.val.size(), split.how.c_str());
  args.config.data_summary = data_summary(args.data, split);
  GenerativePrinter printer(!args.no_progress);
  auto events = open_generative_log(
      args.logdir, std::filesystem::path(args.out).stem().string(),
      {{"autoencoder", to_json(args.config)}, {"data", args.config.data_summary}}, args.resume);
  GenerativeObservers observers({&printer, events.get()});
  const AutoencoderTrainResult result =
      train_autoencoder(split.train, split.val, args.config, args.out, args.resume, &observers);
  close_generative_log(events.get());
  std::printf("best epoch %d of %zu (validation MSE %.5f), %s\nwrote %s\n", result.best_epoch,
              result.history.size(), result.best_val_mse, format_duration(result.seconds).c_str(),
              args.out.c_str());
  return 0;
}

std::string shape_text(const torch::Tensor& codes) {
  std::vector<std::string> sides;
  for (int64_t d = 1; d < codes.dim(); ++d) sides.push_back(std::to_string(codes.size(d)));
  return join(sides, "x");
}

struct EncodeArgs {
  std::string model, data, split, out;
  int batch_size = 32;
};

int run_encode(const EncodeArgs& args) {
  LoadedAutoencoder autoencoder = load_autoencoder(args.model);
  std::vector<Sample> samples = read_dataset(args.data);
  if (!args.split.empty()) samples = select_split(samples, args.split);
  if (samples.empty()) throw UsageError("no images to encode in " + args.data);
  const Stopwatch stopwatch;
  std::vector<std::string> failures;
  ProgressBar bar("encode", samples.size());
  const CodeSet codes = encode_samples(*autoencoder.net, autoencoder.metadata.preprocess, args.model, samples,
                                       common_options().threads, args.batch_size, failures,
                                       [&](size_t done, size_t) { bar.update(done, done); });
  bar.finish();
  for (const auto& failure : failures) std::cerr << "warning: skipped " << failure << "\n";
  write_codes(args.out, codes);
  std::printf("encoded %lld images (%zu skipped) as %s codes in %s: %s (encoder fingerprint %s)\n",
              static_cast<long long>(codes.codes.size(0)), failures.size(), shape_text(codes.codes).c_str(),
              format_duration(stopwatch.seconds()).c_str(), args.out.c_str(),
              codes.encoder_fingerprint.c_str());
  return 0;
}

struct ReconstructArgs {
  std::string model, out;
  std::vector<std::string> files;
};

int run_reconstruct(const ReconstructArgs& args) {
  LoadedAutoencoder autoencoder = load_autoencoder(args.model);
  std::filesystem::create_directories(args.out);
  std::string csv = "path,mse\n";
  int failures = 0;
  for (const std::string& file : args.files) {
    try {
      const Reconstruction r = reconstruct_file(*autoencoder.net, autoencoder.metadata.preprocess, file);
      const std::string panel = (std::filesystem::path(args.out) /
                                 (std::filesystem::path(file).stem().string() + ".reconstruction.png"))
                                    .string();
      write_file_atomically(panel, png_bytes(reconstruction_panel(r.original, r.reconstruction, 0.25,
                                                                  format_string("MSE %.4f", r.mse)),
                                             panel));
      std::printf("%s\t%.6f\t%s\n", file.c_str(), r.mse, panel.c_str());
      csv += csv_field(file) + format_string(",%.8f\n", r.mse);
    } catch (const Error& e) {
      std::cerr << "error: " << e.what() << "\n";
      ++failures;
    }
  }
  const std::string errors = (std::filesystem::path(args.out) / "errors.csv").string();
  write_file_atomically(errors, csv);
  std::printf("wrote %s (mean squared error per image, [0, 1] pixels)\n", errors.c_str());
  return failures > 0 ? 2 : 0;
}

std::function<int()> add_autoencoder(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand(
      "autoencoder", "The seed study's convolutional autoencoder: train, encode, reconstruct");
  cmd->require_subcommand(1);

  auto train = std::make_shared<TrainArgs>();
  AutoencoderTrainConfig& c = train->config;
  CLI::App* train_cmd = cmd->add_subcommand("train", "Train the autoencoder (MSE) and write its model file");
  train_cmd->add_option("--data", train->data.data, "Data folder or CSV manifest")->required();
  train_cmd->add_option("--val", train->data.validation,
                        "Validation folder or manifest (default: carved by patient)");
  train_cmd->add_option("--val-fraction", train->data.val_fraction, "Share of patients carved for validation")
      ->check(CLI::Range(0.01, 0.9))
      ->capture_default_str();
  train_cmd->add_option("--limit", train->data.limit, "Use a stratified subset of this many training images");
  train_cmd->add_option("--exclude-qc", train->data.exclude_qc, "qc JSON whose flagged images are left out");
  train_cmd->add_option("--out", train->out, "Autoencoder file to write")->required();
  train_cmd->add_option("--epochs", c.epochs, "Epochs")->check(CLI::PositiveNumber)->capture_default_str();
  train_cmd->add_option("--batch-size", c.batch_size, "Batch size")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  train_cmd->add_option("--lr", c.learning_rate, "Adam learning rate")->capture_default_str();
  train_cmd
      ->add_option("--ssim-weight", c.ssim_weight,
                   "Add this times (1 - SSIM) to the MSE loss (0 = MSE alone; model selection stays on "
                   "validation MSE)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  train_cmd->add_option("--image-size", c.network.input_size, "Input side (multiple of 16)")
      ->capture_default_str();
  train_cmd->add_option("--seed", c.seed, "Random seed (split, initialisation, shuffling)")
      ->capture_default_str();
  train_cmd->add_option("--name", c.name, "Name stored in the file")->capture_default_str();
  train_cmd->add_flag("--resume", train->resume, "Continue from OUT.ckpt after an interruption");
  train_cmd->add_flag("--no-progress", train->no_progress, "No progress bar");
  train_cmd->add_option("--logdir", train->logdir,
                        "Write TensorBoard event files (losses, reconstructions) to LOGDIR/<file stem>");

  auto encode = std::make_shared<EncodeArgs>();
  CLI::App* encode_cmd =
      cmd->add_subcommand("encode", "Encode a data set into one code file (float16) for latent-cnn");
  encode_cmd->add_option("--model", encode->model, "Autoencoder file")->required();
  encode_cmd->add_option("--data", encode->data, "Data folder or CSV manifest")->required();
  encode_cmd->add_option("--split", encode->split, "Only this split (train, val, test)");
  encode_cmd->add_option("--out", encode->out, "Code file to write")->required();
  encode_cmd->add_option("--batch-size", encode->batch_size, "Images per forward pass")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();

  auto reconstruct = std::make_shared<ReconstructArgs>();
  CLI::App* reconstruct_cmd = cmd->add_subcommand(
      "reconstruct",
      "original | reconstruction | error map PNG per file, and the per-image error (errors.csv)");
  reconstruct_cmd->add_option("--model", reconstruct->model, "Autoencoder file")->required();
  reconstruct_cmd->add_option("--out", reconstruct->out, "Folder for the panels and errors.csv")->required();
  reconstruct_cmd->add_option("files", reconstruct->files, "PNG, JPEG or DICOM files")->required();

  return [=] {
    if (train_cmd->parsed()) return run_train(*train);
    if (encode_cmd->parsed()) return run_encode(*encode);
    return run_reconstruct(*reconstruct);
  };
}

}  // namespace

PNEUMOSCAN_COMMAND(autoencoder, add_autoencoder);

}  // namespace pneumoscan::cli
