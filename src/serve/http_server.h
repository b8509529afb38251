#pragma once
// The PneumoScan HTTP service (see README "Serving"):
//   POST /api/v1/predict[?explain=gradcam|gradcam++|saliency]
//   GET  /api/v1/health, /api/v1/model, /metrics, / (the web page in web/)
//   GET  /api/v1/worklist[?limit=N], /api/v1/worklist/<id>[/xray.jpg|/overlay.jpg] (with a worklist)
// Errors are JSON {"error": "..."}; a bad request never takes the server down.
#include <cstddef>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "serve/batcher.h"
#include "serve/dicom_node.h"
#include "serve/worklist.h"

namespace pneumoscan {

struct ServeConfig {
  std::string model_path;  // "" = default_model_path()
  std::string index_path;  // "" = no similar cases; else a case index (pneumoscan index build)
  Precision precision = Precision::kFloat32;  // of inference (core/precision.h)
  std::string host = "127.0.0.1";
  int port = 8080;  // 0 = any free port
  // HTTP worker threads, started as connections need them (one per open
  // connection): idle or slow clients wait in their own threads, not in line.
  int threads = 512;
  BatcherConfig batching;
  size_t max_body_bytes = 32u << 20;  // larger bodies get 413
  // Open connections one client address may hold (429 beyond; 0 = no limit).
  // Counted from a connection's first request (serve/client_connections.h).
  size_t max_connections_per_client = 64;
  // A connection must send a request's headers within this long of opening
  // or of its last response, else it is dropped (slow clients:
  // serve/client_connections.h, SlowClientWatchdog); 0 = no deadline.
  int header_timeout_ms = 10000;
  std::string token;     // when set, all but /api/v1/health and the page need "Authorization: Bearer <token>"
  std::string web_root;  // "" = find_web_root()
  // The DICOM node's triage worklist shown at /api/v1/worklist and on the
  // page; nullptr = none. (`serve --dicom-port` runs the node in the same
  // process and shares its worklist here: cli/cmd_serve.cpp.)
  std::shared_ptr<Worklist> worklist;
};

class HttpService {
 public:
  // Loads the model and sets up the routes; throws ModelFileError/UsageError.
  explicit HttpService(ServeConfig config);
  ~HttpService();
  HttpService(const HttpService&) = delete;
  HttpService& operator=(const HttpService&) = delete;

  // Binds the listening socket; returns the port (the chosen one for port 0).
  // Throws IoError when the address cannot be bound.
  int bind();
  // Serves until stop(); then lets in-flight requests finish and drains the
  // batch queue. Call after bind().
  void run();
  // Thread-safe; returns once run() has returned (at once when it never ran).
  void stop();

  const ServeConfig& config() const;
  const std::string& web_root() const;
  nlohmann::json model_summary() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace pneumoscan
