// pneumoscan train: fit a network on a data set and write one model file.
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <string>

#include "cli/command.h"
#include "cli/distributed_options.h"
#include "cli/event_log.h"
#include "cli/train_printer.h"
#include "core/errors.h"
#include "core/text.h"
#include "core/timing.h"
#include "data/train_val.h"
#include "eval/multiclass.h"
#include "generative/latent_train.h"
#include "generative/synthetic.h"
#include "report/plots.h"
#include "train/trainer.h"

namespace pneumoscan::cli {
namespace {

struct TrainArgs {
  TrainValOptions data;
  std::string codes, autoencoder, synthetic;
  std::string out, plots, logdir, normalization = "image_zscore", norm_preset, norm_mean = "0.5",
                                  norm_std = "0.25";
  int channels = 0;  // 0: 3 with per-channel normalisation, else 1
  std::vector<std::string> classes = {"normal", "pneumonia"};
  std::vector<std::string> class_weight_scale;  // CLASS=FACTOR
  bool resume = false, no_augment = false, no_progress = false, hflip = false;
  double zoom = -1;  // < 0: the preset's
  std::string augment = "standard";
  TrainConfig config;
  DistributedFlags distributed;
  CLI::Option* normalization_option = nullptr;
  CLI::Option* norm_mean_option = nullptr;
  CLI::Option* norm_std_option = nullptr;
};

// `--class-weight-scale VIRAL=1.5 ...` as a map; the class names and values are validate()'s.
std::map<std::string, double> parse_class_weight_scales(const std::vector<std::string>& items) {
  std::map<std::string, double> scales;
  for (const std::string& item : items) {
    const size_t eq = item.find('=');
    double value = 0;
    size_t used = 0;
    try {
      if (eq != std::string::npos) value = std::stod(item.substr(eq + 1), &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (eq == std::string::npos || eq == 0 || used == 0 || used != item.size() - eq - 1)
      throw UsageError("--class-weight-scale takes CLASS=FACTOR (e.g. VIRAL=1.5), not " +
                       quoted_excerpt(item));
    scales[item.substr(0, eq)] = value;
  }
  return scales;
}

// `--arch latent-cnn --codes CODES`: the latent CNN on the split's codes, encoder from the codes'
// autoencoder.
TrainResult train_on_codes(TrainArgs& args, const TrainValSplit& split, TrainObserver& observers) {
  const CodeSet codes = read_codes(args.codes);
  const std::string autoencoder_path = args.autoencoder.empty() ? codes.autoencoder_path : args.autoencoder;
  LoadedAutoencoder autoencoder = load_autoencoder(autoencoder_path);
  std::printf("codes: %lld images from %s (encoder %s)\n", static_cast<long long>(codes.codes.size(0)),
              args.codes.c_str(), codes.encoder_fingerprint.c_str());
  return train_latent_model(split.train, split.val, codes, args.codes, autoencoder, autoencoder_path,
                            args.config, args.out, args.resume, &observers);
}

int run_train(TrainArgs& args) {
  TrainConfig& config = args.config;
  config.preprocess.mean = parse_channel_values(args.norm_mean, "--norm-mean");
  config.preprocess.std = parse_channel_values(args.norm_std, "--norm-std");
  use_normalization(config, args.normalization);
  if (!args.norm_preset.empty()) {
    if (args.normalization_option->count() > 0 && config.preprocess.normalization != Normalization::kFixed)
      throw UsageError("--norm " + args.norm_preset +
                       " is a fixed normalisation; it contradicts --normalization " + args.normalization);
    use_normalization(config, args.norm_preset);
  }
  // Which flags were given is the command line's business; what the values must be is validate()'s.
  if ((args.norm_mean_option->count() > 0 || args.norm_std_option->count() > 0) &&
      config.preprocess.normalization != Normalization::kFixed)
    throw UsageError("--norm-mean/--norm-std apply to --normalization fixed only");
  if (args.channels > 0)
    config.spec.in_channels = args.channels;
  else if (config.preprocess.normalization == Normalization::kFixed &&
           (config.preprocess.mean.size() == 3 || config.preprocess.std.size() == 3))
    config.spec.in_channels = 3;
  if (args.no_augment && args.augment != "standard" && args.augment != "none")
    throw UsageError("--no-augment contradicts --augment " + args.augment);
  config.augment = augment_preset(args.no_augment ? "none" : args.augment);
  config.augment.horizontal_flip = args.hflip;
  if (args.zoom >= 0) config.augment.max_zoom = args.zoom;
  config.class_names = validate_class_names(args.classes);
  config.class_weight_scale = parse_class_weight_scales(args.class_weight_scale);
  config.loader_threads = common_options().threads;
  validate(config);

  if (config.spec.architecture == "latent-cnn" && args.codes.empty())
    throw UsageError(
        "--arch latent-cnn trains on autoencoder codes: add --codes CODES (`pneumoscan autoencoder encode`)");
  if (!args.codes.empty() && config.spec.architecture != "latent-cnn")
    throw UsageError("--codes trains --arch latent-cnn, not " + config.spec.architecture);
  if (!args.codes.empty() && !args.synthetic.empty())
    throw UsageError("--synthetic images have no codes; use it without --codes");
  const DistributedOptions distributed = resolve(args.distributed, config.device);
  if (distributed.distributed() && !args.codes.empty())
    throw UsageError("--codes (latent-cnn) trains in one process; drop --world-size");
  config.device = rank_device(distributed, config.device);
  const std::unique_ptr<Communicator> comm = join_group(distributed);
  const bool root = comm == nullptr || comm->is_root();

  args.data.seed = config.seed;
  TrainValSplit split = prepare_train_val(args.data);
  print_qc_exclusions(split.excluded_by_qc, args.data.exclude_qc);
  std::unique_ptr<SyntheticSet> synthetic;
  if (!args.synthetic.empty()) {
    synthetic = std::make_unique<SyntheticSet>(read_synthetic(args.synthetic));
    add_synthetic_to_training(split, *synthetic);
    std::printf("added %zu synthetic %s images from %s to training (never to validation)\n",
                synthetic->samples.size(), kClassNames.at(static_cast<size_t>(synthetic->label)).c_str(),
                synthetic->dir.c_str());
  }
  std::printf("training on %zu images, validating on %zu: %s\n", split.train.size(), split.val.size(),
              split.how.c_str());
  config.data_summary = data_summary(args.data, split);
  if (synthetic) config.data_summary["synthetic"] = synthetic_summary(*synthetic);

  TrainPrinter printer(!args.no_progress);
  std::unique_ptr<TensorBoardObserver> events;
  if (!args.logdir.empty() && root)
    events = open_event_log(args.logdir, std::filesystem::path(args.out).stem().string(), config, split.val,
                            args.resume);
  CompositeObserver observers({&printer, events.get()});
  const TrainResult result = args.codes.empty() ? train_model(split.train, split.val, config, args.out,
                                                              args.resume, &observers, comm.get())
                                                : train_on_codes(args, split, observers);
  if (!root) {
    std::printf("%s: trained %zu epochs (best %d); rank 0 writes %s\n", comm->where().c_str(),
                result.history.size(), result.best_epoch, args.out.c_str());
    return 0;
  }
  if (events)
    close_event_log(*events, result.val_probabilities, result.val_labels,
                    static_cast<int>(result.history.size()));
  const BinaryMetrics& m = result.validation;
  std::printf(
      "\nbest epoch %d of %zu, %s\nvalidation at threshold %.4f (target sensitivity %.2f): recall %.4f  "
      "specificity %.4f  precision %.4f  F1 %.4f  ROC AUC %.4f  PR AUC %.4f\nwrote %s\n",
      result.best_epoch, result.history.size(), format_duration(result.seconds).c_str(), m.threshold,
      config.target_sensitivity, m.recall, m.specificity, m.precision, m.f1, m.roc_auc, m.pr_auc,
      args.out.c_str());
  if (config.class_names.size() > 2) {
    const MulticlassMetrics types = compute_multiclass_metrics(
        result.val_class_probabilities, result.val_class_labels, config.class_names, m.threshold);
    std::printf("classes: accuracy %.4f  macro F1 %.4f  type accuracy among pneumonias %.4f (%lld images)\n",
                types.accuracy, types.macro_f1, types.type_accuracy, static_cast<long long>(types.type_n));
  }
  if (!args.plots.empty()) {
    const std::string name = std::filesystem::path(args.out).stem().string();
    auto plots = write_training_plots(args.plots, name, name, result.history);
    const auto evaluation = write_evaluation_plots(args.plots, name, name + " (validation)",
                                                   {name, result.val_probabilities, result.val_labels}, m);
    plots.insert(plots.end(), evaluation.begin(), evaluation.end());
    for (const auto& plot : plots) std::printf("wrote %s\n", plot.path.c_str());
  }
  return 0;
}

std::function<int()> add_train(CLI::App& app) {
  auto args = std::make_shared<TrainArgs>();
  TrainConfig& c = args->config;
  CLI::App* cmd = app.add_subcommand("train", "Train a network and write a model file (weights + metadata)");
  cmd->add_option("--arch", c.spec.architecture, "Architecture (see `pneumoscan models`)")
      ->capture_default_str();
  cmd->add_option("--data", args->data.data, "Data folder (train/NORMAL|PNEUMONIA ...) or CSV manifest")
      ->required();
  cmd->add_option("--val", args->data.validation,
                  "Validation folder or manifest (default: carved from --data by patient)");
  cmd->add_option("--val-fraction", args->data.val_fraction, "Share of patients carved for validation")
      ->check(CLI::Range(0.01, 0.9))
      ->capture_default_str();
  cmd->add_option("--out", args->out, "Model file to write")->required();
  cmd->add_option("--epochs", c.epochs, "Maximum epochs")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--batch-size", c.batch_size, "Batch size")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--optimizer", c.optimizer, "adam or sgd")
      ->check(CLI::IsMember({"adam", "sgd"}))
      ->capture_default_str();
  cmd->add_option("--lr", c.learning_rate, "Initial learning rate")->capture_default_str();
  cmd->add_option("--weight-decay", c.weight_decay, "Weight decay")->capture_default_str();
  cmd->add_option("--momentum", c.momentum, "SGD momentum")->capture_default_str();
  cmd->add_option("--image-size", c.spec.input_size, "Input side in pixels (0 = architecture default)")
      ->capture_default_str();
  cmd->add_option("--outputs", c.spec.num_outputs, "1 = sigmoid, 2 = softmax (0 = architecture default)")
      ->check(CLI::Range(0, 2))
      ->capture_default_str();
  cmd->add_option(
         "--channels", args->channels,
         "Input channels: 1 = gray, 3 = gray repeated (default: 3 with per-channel normalisation, else 1)")
      ->check(CLI::IsMember({1, 3}));
  args->normalization_option =
      cmd->add_option("--normalization", args->normalization, "image_zscore, equalize_zscore or fixed")
          ->check(CLI::IsMember({"image_zscore", "equalize_zscore", "fixed"}))
          ->capture_default_str();
  CLI::Option* preset =
      cmd->add_option("--norm", args->norm_preset,
                      "Fixed normalisation preset: imagenet (per-channel ImageNet mean/std, 3 channels; the "
                      "shared ResNet-50) or inception ([-1, 1]; the shared MobileNetV2)")
          ->check(CLI::IsMember({"imagenet", "inception"}));
  args->norm_mean_option =
      cmd->add_option("--norm-mean", args->norm_mean,
                      "Mean in [0,1] pixel units for --normalization fixed: 1 value, or 3 "
                      "comma-separated (per channel, 3 channels); 0.5 with std 0.5 gives "
                      "[-1, 1]")
          ->excludes(preset)
          ->capture_default_str();
  args->norm_std_option = cmd->add_option("--norm-std", args->norm_std,
                                          "Std for --normalization fixed: 1 value or 3 comma-separated")
                              ->excludes(preset)
                              ->capture_default_str();
  cmd->add_option("--pretrained", c.pretrained_path,
                  "torchvision-layout state dict (torch.save) to start from; matching weights are imported")
      ->check(CLI::ExistingFile);
  cmd->add_option("--freeze", c.freeze, "Train only the classifier head at first")
      ->check(CLI::IsMember({"features"}));
  cmd->add_option("--unfreeze-after", c.unfreeze_after,
                  "From this epoch on train all layers (0 = stay frozen); needs --freeze features")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_flag("--freeze-bn-stats", c.freeze_batchnorm_stats,
                "Keep BatchNorm layers in eval mode (running statistics unchanged) while training");
  cmd->add_option(
         "--augment", args->augment,
         "Training augmentation: standard (rotation, shift, zoom, tone curve, contrast, exposure, blur, "
         "noise), strong (wider photometric ranges, and CLAHE, histogram equalisation or unsharp "
         "masking on half the images) or none")
      ->check(CLI::IsMember({"standard", "strong", "none"}))
      ->capture_default_str();
  cmd->add_flag("--no-augment", args->no_augment, "Turn augmentation off (= --augment none)");
  cmd->add_flag("--hflip", args->hflip, "Allow horizontal flips (off: X-rays have a side)");
  cmd->add_option("--zoom", args->zoom,
                  "Zoom range of the augmentation: scales drawn from [1 - Z, 1 + Z] (default 0.1; 0.25 also "
                  "covers tighter and wider collimation)")
      ->check(CLI::Range(0.0, 0.5));
  cmd->add_option(
         "--sampling", c.sampling,
         "Order of an epoch: shuffle (each image once) or balanced (draws with replacement, every class "
         "equally likely; replaces class weighting)")
      ->check(CLI::IsMember({"shuffle", "balanced"}))
      ->capture_default_str();
  cmd->add_option("--mixup", c.mixup_alpha,
                  "Mixup: train on blends of image pairs and their targets, blend ~ Beta(ALPHA, ALPHA) "
                  "(0 = off; 0.2-0.4 usual)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--ema-decay", c.ema_decay,
                  "Validate, keep and save an exponential moving average of the weights over the steps "
                  "with this decay in [0, 1) (0 = off; 0.998 averages about the last 500 steps)")
      ->capture_default_str();
  cmd->add_option(
         "--feature-lr-scale", c.feature_lr_scale,
         "Discriminative learning rates: layers outside the classifier head learn at this multiple of "
         "the rate (0.1: pretrained features move a tenth as fast as the new head; 1 = one rate)")
      ->capture_default_str();
  cmd->add_option("--patience", c.early_stopping_patience, "Early stopping patience (epochs)")
      ->capture_default_str();
  cmd->add_option("--plateau-patience", c.plateau_patience, "Epochs without improvement before LR is halved")
      ->capture_default_str();
  cmd->add_option("--target-sensitivity", c.target_sensitivity,
                  "Sensitivity the decision threshold must reach on validation")
      ->check(CLI::Range(0.5, 1.0))
      ->capture_default_str();
  cmd->add_flag("!--no-class-weights", c.class_weighting, "Plain (unweighted) cross-entropy");
  cmd->add_option("--class-weight-scale", args->class_weight_scale,
                  "Multiply a class's loss weight: CLASS=FACTOR, repeatable (VIRAL=1.5: a viral error costs "
                  "half as much again as the class weighting says)");
  cmd->add_option(
         "--classes", args->classes,
         "Classes to learn: normal,pneumonia or normal,bacterial,viral (type from Kermany file names "
         "or manifest labels bacterial/viral); P(pneumonia) = 1 - P(normal)")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--label-smoothing", c.label_smoothing, "Label smoothing in [0, 1)")
      ->check(CLI::Range(0.0, 0.99))
      ->capture_default_str();
  cmd->add_option("--seed", c.seed, "Random seed (split, initialisation, shuffling, augmentation)")
      ->capture_default_str();
  cmd->add_option("--exclude-qc", args->data.exclude_qc, "qc JSON whose flagged images are left out");
  cmd->add_option("--limit", args->data.limit, "Use a stratified subset of this many training images");
  cmd->add_flag("--resume", args->resume, "Continue from OUT.ckpt after an interruption");
  cmd->add_option("--device", c.device, "cpu or cuda")->capture_default_str();
  add_precision_option(cmd, c.precision, kTrainingPrecisionHelp);
  add_distributed_options(cmd, args->distributed);
  cmd->add_option("--name", c.model_name, "Model name stored in the file");
  cmd->add_flag("--no-progress", args->no_progress, "No progress bar");
  cmd->add_option("--logdir", args->logdir,
                  "Write TensorBoard event files to LOGDIR/<model file stem> (watch with `pneumoscan board "
                  "--logdir LOGDIR` or TensorBoard)");
  cmd->add_option(
      "--codes", args->codes,
      "Autoencoder code file (`autoencoder encode` of --data): train --arch latent-cnn on the codes; "
      "the model file holds encoder + latent CNN and runs on images");
  cmd->add_option(
      "--autoencoder", args->autoencoder,
      "The autoencoder the codes came from (default: the file named in the codes); codes of another "
      "encoder are refused");
  cmd->add_option(
      "--synthetic", args->synthetic,
      "DIR[:CLASS]: generated images (`gan sample`) added to training only, never to validation or the "
      "threshold; the model file records how many");
  cmd->add_option(
      "--plots", args->plots,
      "Folder for PNG plots: loss/accuracy curves, ROC, PR, confusion matrix, calibration on validation");
  return [args] { return run_train(*args); };
}

}  // namespace

PNEUMOSCAN_COMMAND(train, add_train);

}  // namespace pneumoscan::cli
