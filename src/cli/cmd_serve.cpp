// pneumoscan serve: the HTTP prediction service and web page (src/serve).
#include <csignal>

#include "cli/command.h"
#include "core/errors.h"
#include "serve/http_server.h"

namespace pneumoscan::cli {
namespace {

struct ServeArgs {
  ServeConfig config;
  double max_body_mb = 32;
  DicomNodeOptions dicom;
  std::string dicom_forward;
};

std::function<int()> add_serve(CLI::App& app) {
  auto args = std::make_shared<ServeArgs>();
  ServeConfig& c = args->config;
  CLI::App* cmd = app.add_subcommand(
      "serve",
      "HTTP service: POST /api/v1/predict (X-ray as body or multipart 'file'; ?explain=gradcam|gradcam++|"
      "saliency; ?similar=K with --index), GET /api/v1/health, /api/v1/model, /metrics, and the web page at "
      "/. Stops cleanly on "
      "SIGINT/SIGTERM");
  add_model_option(cmd, c.model_path);
  cmd->add_option("--index", c.index_path,
                  "Case index built with this model (pneumoscan index build): enables ?similar=K")
      ->check(CLI::ExistingFile);
  cmd->add_option("--host", c.host, "Address to listen on (0.0.0.0 for all interfaces)")
      ->capture_default_str();
  cmd->add_option("--port", c.port, "Port (0 = any free port, printed at start)")
      ->capture_default_str()
      ->check(CLI::Range(0, 65535));
  // --threads stays the global option (tensor threads, before or after the command).
  cmd->add_option("--http-threads", c.threads,
                  "Most HTTP worker threads, started as connections need them (connections served at once)")
      ->capture_default_str()
      ->check(CLI::Range(1, 4096));
  cmd->add_option("--max-batch", c.batching.max_batch, "Most images per batched forward pass")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  cmd->add_option("--max-wait-ms", c.batching.max_wait_ms,
                  "Longest wait of the oldest request for a fuller batch")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 10000.0));
  cmd->add_option("--max-queue", c.batching.max_queue, "Requests waiting for inference before 503")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  cmd->add_option("--max-body-mb", args->max_body_mb, "Largest request body in MB (413 above)")
      ->capture_default_str()
      ->check(CLI::Range(0.001, 4096.0));
  cmd->add_option(
         "--token", c.token,
         "Require 'Authorization: Bearer TOKEN' on the API and /metrics (health and page stay open); "
         "or set PNEUMOSCAN_TOKEN (not visible in ps)")
      ->envname("PNEUMOSCAN_TOKEN");
  cmd->add_option("--dicom-port", args->dicom.port,
                  "Also run the DICOM node (as `dicom-node`) on this port, in the same process");
  cmd->add_option("--dicom-aet", args->dicom.ae_title, "The DICOM node's AE title")->capture_default_str();
  cmd->add_option("--dicom-out", args->dicom.out_dir, "The DICOM node's output folder")
      ->capture_default_str();
  cmd->add_option("--dicom-forward", args->dicom_forward,
                  "The DICOM node sends result objects on to HOST:PORT:AET");
  return [args, cmd] {
    args->config.max_body_bytes = static_cast<size_t>(args->max_body_mb * 1024 * 1024);
    std::signal(SIGPIPE, SIG_IGN);  // a client or DICOM peer that hangs up is an error return, not an exit
    if (cmd->count("--dicom-port") > 0) {
      if (args->dicom.port < 1 || args->dicom.port > 65535) throw UsageError("--dicom-port must be 1-65535");
      args->dicom.model_path = args->config.model_path;
      if (!args->dicom_forward.empty()) args->dicom.forward = parse_dicom_peer(args->dicom_forward);
      args->config.dicom = args->dicom;
    } else if (cmd->count("--dicom-aet") + cmd->count("--dicom-out") + cmd->count("--dicom-forward") > 0) {
      throw UsageError("--dicom-aet/--dicom-out/--dicom-forward need --dicom-port");
    }
    return run_http_service(args->config);
  };
}

}  // namespace

PNEUMOSCAN_COMMAND(serve, add_serve);

}  // namespace pneumoscan::cli
