// pneumoscan export: a model's weights as a torchvision-layout state dict for
// Python (torch.load + load_state_dict(strict=True) on the matching torchvision
// network with a 1-channel first convolution).
#include <cstdio>

#include "cli/command.h"
#include "model_file/model_file.h"
#include "models/pretrained.h"

namespace pneumoscan::cli {
namespace {

struct ExportArgs {
  std::string model, state_dict;
};

int run_export(const ExportArgs& args) {
  LoadedModel model = load_model(args.model);
  const size_t count = export_state_dict(*model.net, args.state_dict);
  std::printf("wrote %s: %zu tensors of %s (%lld input channels, %lld outputs)\n", args.state_dict.c_str(),
              count, model.metadata.spec.architecture.c_str(),
              static_cast<long long>(model.metadata.spec.in_channels),
              static_cast<long long>(model.metadata.spec.num_outputs));
  return 0;
}

std::function<int()> add_export(CLI::App& app) {
  auto args = std::make_shared<ExportArgs>();
  CLI::App* cmd =
      app.add_subcommand("export", "Write a model's weights as a torchvision-layout state dict (.pt)");
  cmd->add_option("--model", args->model, "Model file")->required()->check(CLI::ExistingFile);
  cmd->add_option("--state-dict", args->state_dict, "State dict file to write (Python: torch.load)")
      ->required();
  return [args] { return run_export(*args); };
}

}  // namespace

PNEUMOSCAN_COMMAND(export, add_export);

}  // namespace pneumoscan::cli
