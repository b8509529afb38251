// pneumoscan serve: the HTTP prediction service and web page (src/serve).
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "cli/command.h"
#include "core/errors.h"
#include "core/json_text.h"
#include "serve/http_server.h"
#include "serve/shutdown_signal.h"
#include "serve/worklist.h"

namespace pneumoscan::cli {
namespace {

struct ServeArgs {
  ServeConfig config;
  double max_body_mb = 32;
  DicomNodeOptions dicom;
  std::string dicom_forward;
};

// The process: the HTTP service, and with --dicom-port the DICOM node on its
// own thread sharing its worklist with the page. Binds, prints "listening on
// http://HOST:PORT" (flushed), serves until SIGINT/SIGTERM, shuts down cleanly.
int run_serve_process(ServeConfig config, std::optional<DicomNodeOptions> dicom) {
  if (dicom) {
    std::error_code ec;
    std::filesystem::create_directories(dicom->out_dir, ec);
    dicom->worklist =
        std::make_shared<Worklist>((std::filesystem::path(dicom->out_dir) / "worklist.db").string());
    config.worklist = dicom->worklist;
  }
  HttpService service(config);
  const int port = service.bind();
  // The node loads its own copy of the model: it runs one association at a
  // time on its own thread and must not wait behind HTTP batches.
  std::unique_ptr<DicomNode> node;
  if (dicom) node = std::make_unique<DicomNode>(*dicom);
  std::fprintf(stderr, "serving model %s, batches of up to %d, web page: %s\n",
               json_text(service.model_summary()).c_str(), config.batching.max_batch,
               service.web_root().empty() ? "not found" : service.web_root().c_str());
  std::printf("listening on http://%s:%d\n", config.host.c_str(), port);
  std::fflush(stdout);

  std::string node_error;
  std::thread node_thread;
  if (node)
    node_thread = std::thread([&] {
      try {
        node->run();
      } catch (const std::exception& e) {
        node_error = e.what();
        service.stop();  // a node that cannot listen is a failed start, not a half service
      }
    });
  ShutdownOnSignal on_signal([&] {
    std::fprintf(stderr, "shutting down: finishing in-flight requests\n");
    if (node) node->stop();
    service.stop();
  });
  service.run();
  if (node) {
    node->stop();
    node_thread.join();
  }
  if (!node_error.empty()) {
    std::fprintf(stderr, "pneumoscan: DICOM node: %s\n", node_error.c_str());
    return 1;
  }
  std::fprintf(stderr, "stopped\n");
  return 0;
}

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
  add_precision_option(cmd, c.precision);
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
  cmd->add_option("--max-connections-per-client", c.max_connections_per_client,
                  "Most open connections from one client address (429 beyond; 0 = no limit)")
      ->capture_default_str();
  cmd->add_option("--header-timeout-ms", c.header_timeout_ms,
                  "Drop a connection that has not sent a request's headers this long after opening or "
                  "after its last response (slow clients; 0 = no deadline)")
      ->capture_default_str()
      ->check(CLI::Range(0, 3600000));
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
      args->dicom.precision = args->config.precision;
      if (!args->dicom_forward.empty()) args->dicom.forward = parse_dicom_peer(args->dicom_forward);
      return run_serve_process(args->config, args->dicom);
    } else if (cmd->count("--dicom-aet") + cmd->count("--dicom-out") + cmd->count("--dicom-forward") > 0) {
      throw UsageError("--dicom-aet/--dicom-out/--dicom-forward need --dicom-port");
    }
    return run_serve_process(args->config, std::nullopt);
  };
}

}  // namespace

PNEUMOSCAN_COMMAND(serve, add_serve);

}  // namespace pneumoscan::cli
