// pneumoscan dicom-node: a DICOM Storage SCP that triages chest X-rays as they arrive.
#include <csignal>

#include "cli/command.h"
#include "serve/dicom_node.h"

namespace pneumoscan::cli {
namespace {

struct DicomNodeArgs {
  DicomNodeOptions options;
  std::string forward;
  std::string explain = "gradcam";
};

DicomNode* running_node = nullptr;

extern "C" void request_stop(int) {
  if (running_node != nullptr) running_node->stop();
}

int run_dicom_node(DicomNodeArgs& args) {
  if (!args.forward.empty()) args.options.forward = parse_dicom_peer(args.forward);
  args.options.gradcam = args.explain == "gradcam";
  DicomNode node(args.options);
  running_node = &node;
  struct sigaction action {};
  action.sa_handler = request_stop;
  action.sa_flags = SA_RESTART;  // the association in progress goes on undisturbed
  sigemptyset(&action.sa_mask);
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
  std::signal(SIGPIPE, SIG_IGN);  // a peer that hangs up is an error return, not a dead node
  node.run();
  running_node = nullptr;
  return 0;
}

std::function<int()> add_dicom_node(CLI::App& app) {
  auto args = std::make_shared<DicomNodeArgs>();
  CLI::App* cmd =
      app.add_subcommand("dicom-node",
                         "DICOM node (Storage SCP) that triages chest X-rays as they arrive: accepts C-ECHO "
                         "and C-STORE of CR/DX "
                         "images, writes OUT/results.jsonl (one line per object) and a Secondary Capture "
                         "result object per image "
                         "in the same study, optionally forwarded. Stops cleanly on SIGTERM/SIGINT");
  add_model_option(cmd, args->options.model_path);
  add_precision_option(cmd, args->options.precision);
  cmd->add_option("--aet", args->options.ae_title, "This node's AE title")->capture_default_str();
  cmd->add_option("--port", args->options.port, "TCP port to listen on")
      ->capture_default_str()
      ->check(CLI::Range(1, 65535));
  cmd->add_option("--out", args->options.out_dir, "Output folder (created when missing)")
      ->capture_default_str();
  cmd->add_option("--forward", args->forward, "Send each result object on to HOST:PORT:AET");
  cmd->add_option("--explain", args->explain, "Overlay in the result picture: gradcam or none")
      ->capture_default_str()
      ->check(CLI::IsMember({"gradcam", "none"}));
  return [args] { return run_dicom_node(*args); };
}

}  // namespace

PNEUMOSCAN_COMMAND(dicom_node, add_dicom_node);

}  // namespace pneumoscan::cli
