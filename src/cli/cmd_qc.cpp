// pneumoscan qc DIR_OR_MANIFEST [--json OUT] [--blur-threshold X] [--min-size N] [--exclude-blurry]
#include <cstdio>
#include <iostream>
#include <memory>

#include "cli/command.h"
#include "cli/progress.h"
#include "core/atomic_file.h"
#include "core/json_text.h"
#include "core/timing.h"
#include "data/qc.h"
#include "data/sample.h"

namespace pneumoscan::cli {
namespace {

struct QcArgs {
  std::string input;
  std::string json_out;
  QcOptions options;
};

std::function<int()> make_qc(CLI::App& app) {
  auto args = std::make_shared<QcArgs>();
  CLI::App* sub = app.add_subcommand("qc",
                                     "Quality control of a data set: unreadable, blank, small, blurry, "
                                     "duplicate images and patients shared between splits");
  sub->add_option("input", args->input, "Data folder (standard layout) or CSV manifest")->required();
  sub->add_option("--json", args->json_out,
                  "Write the full report (with the exclusion list) to this JSON file");
  sub->add_option("--blur-threshold", args->options.blur_threshold,
                  "Laplacian variance (256 px wide, 8-bit) below which an image is blurry")
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--min-size", args->options.min_side, "Smallest acceptable image side in pixels")
      ->check(CLI::NonNegativeNumber);
  sub->add_flag("--exclude-blurry", args->options.exclude_blurry, "Also exclude blurry images from training");
  return [args] {
    const Stopwatch stopwatch;
    const std::vector<Sample> samples = read_dataset(args->input);
    QcOptions options = args->options;
    options.threads = common_options().threads;
    ProgressBar bar("qc", samples.size());  // silent unless stderr is a terminal
    options.progress = [&](size_t done, size_t) { bar.update(done, done); };
    const QcReport report = run_qc(samples, options);
    bar.finish();
    const double seconds = stopwatch.seconds();
    std::cout << format_summary(report);
    std::printf("  time: %.1f s\n", seconds);
    std::fflush(stdout);
    if (!args->json_out.empty()) {
      write_file_atomically(args->json_out, json_text(to_json(report), 2) + "\n");
      std::cout << "wrote " << args->json_out << "\n";
    }
    return 0;
  };
}

}  // namespace
PNEUMOSCAN_COMMAND(qc, make_qc);
}  // namespace pneumoscan::cli
