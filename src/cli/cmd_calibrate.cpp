// pneumoscan calibrate: fit the temperature and choose the operating threshold
// of a model file on validation data, and store both in (a copy of) the file.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/calibration_options.h"
#include "cli/command.h"
#include "eval/calibration.h"
#include "infer/predictor.h"

namespace pneumoscan::cli {

namespace {

struct CalibrateArgs {
  std::string model, data, split = "val", out;
  CalibrationOptions options;
};

int run_calibrate(CalibrateArgs& args) {
  const std::string model_path = model_or_default(args.model);
  LoadedModel model = load_model(model_path);
  args.options.threads = common_options().threads;
  const CalibrationResult result =
      calibrate_model(model, read_validation(args.data, args.split), args.options);
  print_calibration(result);
  save_model(args.out, model.metadata, *model.net, model.ood_reference);  // calibration leaves features alone
  std::printf("wrote %s\n", args.out.c_str());
  return 0;
}

std::function<int()> add_calibrate(CLI::App& app) {
  auto args = std::make_shared<CalibrateArgs>();
  CLI::App* cmd = app.add_subcommand(
      "calibrate", "Fit temperature scaling and choose the operating threshold on validation data");
  add_model_option(cmd, args->model);
  cmd->add_option("--data", args->data, "Validation folder or manifest (never the test split)")->required();
  cmd->add_option("--split", args->split, "Split of --data to use (val; 'all' for every row)")
      ->capture_default_str();
  cmd->add_option("--out", args->out, "Model file to write (may be the input)")->required();
  add_calibration_options(cmd, args->options);
  return [args] { return run_calibrate(*args); };
}

}  // namespace

PNEUMOSCAN_COMMAND(calibrate, add_calibrate);

}  // namespace pneumoscan::cli
