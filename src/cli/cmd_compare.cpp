// pneumoscan compare: train several architectures on one split and tabulate them.
#include <cstdio>
#include <memory>

#include "cli/command.h"
#include "cli/compare_printer.h"
#include "cli/distributed_options.h"
#include "cli/event_log.h"

namespace pneumoscan::cli {
namespace {

struct CompareArgs {
  std::string archs, normalization = "image_zscore", logdir;
  bool no_augment = false, no_progress = false, no_plots = false;
  CompareOptions options;
  DistributedFlags distributed;
};

int run_compare(CompareArgs& args) {
  CompareOptions& options = args.options;
  TrainConfig& base = options.base;
  base.preprocess.normalization = normalization_from_string(args.normalization);
  if (args.no_augment) base.augment.enabled = false;
  base.loader_threads = common_options().threads;
  options.threads = common_options().threads;
  options.plots = !args.no_plots;
  const DistributedOptions distributed = resolve(args.distributed, base.device);
  base.device = rank_device(distributed, base.device);
  const std::vector<CompareEntry> entries = parse_compare_entries(args.archs, base, options.data.limit);
  const std::unique_ptr<Communicator> comm = join_group(distributed);
  options.comm = comm.get();
  std::unique_ptr<ComparePrinter> printer =
      args.logdir.empty() ? std::make_unique<ComparePrinter>(!args.no_progress, options.data.exclude_qc)
                          : std::make_unique<MonitoredComparePrinter>(!args.no_progress,
                                                                      options.data.exclude_qc, args.logdir);
  const Comparison comparison = run_comparison(entries, options, printer.get());
  if (comm != nullptr && !comm->is_root()) {
    std::printf("%s: trained %zu entries; rank 0 writes the tables\n", comm->where().c_str(), entries.size());
    return 0;
  }
  std::printf("\n");
  for (const auto& path : comparison.written) std::printf("wrote %s\n", path.c_str());
  return 0;
}

std::function<int()> add_compare(CLI::App& app) {
  auto args = std::make_shared<CompareArgs>();
  CompareOptions& o = args->options;
  TrainConfig& c = o.base;
  CLI::App* cmd = app.add_subcommand(
      "compare", "Train several architectures on one patient-grouped split and compare them in one table");
  cmd->add_option(
         "--archs", args->archs,
         "Comma-separated entries ARCH[:key=value]...; keys: name, size, epochs, batch, lr, limit, "
         "pretrained, freeze, unfreeze-after, freeze-bn-stats, norm (mode or preset imagenet/inception), "
         "norm-mean, norm-std, channels, codes (latent-cnn: `autoencoder encode`'s file) (e.g. "
         "small-cnn,resnet18:size=128:epochs=5,latent-cnn:codes=codes.pt)")
      ->required();
  cmd->add_option("--data", o.data.data, "Data folder (train/NORMAL|PNEUMONIA ...) or CSV manifest")
      ->required();
  cmd->add_option("--out", o.out_dir, "Folder for comparison.md/.csv, report.html, models/ and plots/")
      ->required();
  cmd->add_option("--val", o.data.validation, "Validation folder or manifest (default: carved from --data)");
  cmd->add_option("--val-fraction", o.data.val_fraction, "Share of patients carved for validation")
      ->check(CLI::Range(0.01, 0.9))
      ->capture_default_str();
  cmd->add_option("--epochs", c.epochs, "Maximum epochs per model")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--image-size", c.spec.input_size, "Input side in pixels (0 = each architecture's default)")
      ->capture_default_str();
  cmd->add_option("--batch-size", c.batch_size, "Batch size")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--lr", c.learning_rate, "Initial learning rate")->capture_default_str();
  cmd->add_option("--limit", o.data.limit,
                  "Use a stratified subset of this many training images (and the "
                  "same share of validation images)");
  cmd->add_option("--seed", c.seed, "Random seed (split, initialisation, shuffling, augmentation)")
      ->capture_default_str();
  cmd->add_option("--normalization", args->normalization, "image_zscore, equalize_zscore or fixed")
      ->check(CLI::IsMember({"image_zscore", "equalize_zscore", "fixed"}))
      ->capture_default_str();
  cmd->add_flag("--no-augment", args->no_augment, "Turn augmentation off");
  cmd->add_option("--patience", c.early_stopping_patience, "Early stopping patience (epochs)")
      ->capture_default_str();
  cmd->add_option("--exclude-qc", o.data.exclude_qc, "qc JSON whose flagged images are left out");
  cmd->add_option("--device", c.device, "cpu or cuda")->capture_default_str();
  add_precision_option(cmd, c.precision, kTrainingPrecisionHelp);
  cmd->add_option(
      "--logdir", args->logdir,
      "Write TensorBoard event files of each entry trained to LOGDIR/<label> (watch with `pneumoscan "
      "board --logdir LOGDIR` or TensorBoard)");
  cmd->add_flag("--no-plots", args->no_plots, "Tables only: no PNG plots and no report.html");
  cmd->add_flag("--no-progress", args->no_progress, "No progress bars");
  add_distributed_options(cmd, args->distributed);
  return [args] { return run_compare(*args); };
}

}  // namespace

PNEUMOSCAN_COMMAND(compare, add_compare);

}  // namespace pneumoscan::cli
