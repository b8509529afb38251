// pneumoscan ensemble: several model files -> one model file that averages
// their networks' probabilities, calibrated on validation data.
#include <cstdio>

#include "cli/calibration_options.h"
#include "cli/command.h"
#include "eval/calibration.h"
#include "model_file/ensemble.h"

namespace pneumoscan::cli {

namespace {

struct EnsembleArgs {
  std::vector<std::string> members;
  std::string data, split = "val", out, name = "pneumoscan-ensemble";
  CalibrationOptions options;
};

int run_ensemble(EnsembleArgs& args) {
  std::vector<LoadedModel> members;
  for (const auto& path : args.members) members.push_back(load_model(path));
  LoadedModel ensemble = make_ensemble(std::move(members), args.members, args.name);
  args.options.threads = common_options().threads;
  print_calibration(calibrate_model(ensemble, read_validation(args.data, args.split), args.options));
  save_model(args.out, ensemble.metadata, *ensemble.net);
  std::printf("wrote %s (%d networks: %s)\n", args.out.c_str(), ensemble.metadata.ensemble_size,
              architecture_summary(ensemble.metadata).c_str());
  return 0;
}

std::function<int()> add_ensemble(CLI::App& app) {
  auto args = std::make_shared<EnsembleArgs>();
  CLI::App* cmd =
      app.add_subcommand("ensemble",
                         "Combine model files into one averaged, calibrated model file (an ensemble file "
                         "given adds its members; "
                         "architectures may differ where each member can take the first one's input)");
  cmd->add_option("members", args->members, "Member model files (two or more networks)")
      ->required()
      ->expected(2, 64);
  cmd->add_option("--data", args->data, "Validation folder or manifest for temperature and threshold")
      ->required();
  cmd->add_option("--split", args->split, "Split of --data to use (val; 'all' for every row)")
      ->capture_default_str();
  cmd->add_option("--out", args->out, "Ensemble model file to write")->required();
  cmd->add_option("--name", args->name, "Model name stored in the file")->capture_default_str();
  add_calibration_options(cmd, args->options);
  return [args] { return run_ensemble(*args); };
}

}  // namespace

PNEUMOSCAN_COMMAND(ensemble, add_ensemble);

}  // namespace pneumoscan::cli
