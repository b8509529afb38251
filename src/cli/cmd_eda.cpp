// pneumoscan eda DIR_OR_MANIFEST [--json OUT]
#include <iostream>
#include <memory>

#include "cli/command.h"
#include "cli/progress.h"
#include "core/atomic_file.h"
#include "core/json_text.h"
#include "data/eda.h"
#include "data/sample.h"

namespace pneumoscan::cli {
namespace {

struct EdaArgs {
  std::string input;
  std::string json_out;
};

std::function<int()> make_eda(CLI::App& app) {
  auto args = std::make_shared<EdaArgs>();
  CLI::App* sub =
      app.add_subcommand("eda", "Exploratory statistics: class balance, patients, sizes, intensity");
  sub->add_option("input", args->input, "Data folder (standard layout) or CSV manifest")->required();
  sub->add_option("--json", args->json_out, "Also write the statistics to this JSON file");
  return [args] {
    const std::vector<Sample> samples = read_dataset(args->input);
    ProgressBar bar("eda", samples.size());  // silent unless stderr is a terminal
    const EdaReport report =
        run_eda(samples, common_options().threads, [&](size_t done, size_t) { bar.update(done, done); });
    bar.finish();
    std::cout << format_table(report);
    if (!args->json_out.empty()) {
      write_file_atomically(args->json_out, json_text(to_json(report), 2) + "\n");
      std::cout << "wrote " << args->json_out << "\n";
    }
    return 0;
  };
}

}  // namespace
PNEUMOSCAN_COMMAND(eda, make_eda);
}  // namespace pneumoscan::cli
