#include "serve/http_server.h"

#include <httplib.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "core/atomic_file.h"
#include "core/errors.h"
#include "core/json_text.h"
#include "core/text.h"
#include "core/timing.h"
#include "image/image.h"
#include "model_file/model_file.h"
#include "serve/client_connections.h"
#include "serve/connection_pool.h"
#include "serve/http_json.h"
#include "serve/http_upload.h"
#include "serve/prediction_service.h"
#include "serve/prometheus.h"
#include "serve/shutdown_signal.h"
#include "serve/web_root.h"
#include "serve/worklist.h"

namespace pneumoscan {
namespace {
using httplib::Request;
using httplib::Response;
using HandlerResponse = httplib::Server::HandlerResponse;

constexpr const char* kPredictPath = "/api/v1/predict";
constexpr const char* kHealthPath = "/api/v1/health";
constexpr int64_t kMaxSimilar = 50;
constexpr const char* kModelPath = "/api/v1/model";
constexpr const char* kMetricsPath = "/metrics";
constexpr const char* kWorklistPath = "/api/v1/worklist";

// httplib answers each request on one pool thread, from the pre-routing
// handler to the logger, so the start time can live in a thread_local.
thread_local Clock::time_point request_start{};

// The connection this worker thread serves (one connection per task, see
// connection_pool.h): whether its first request was seen, and the client
// address it is counted under, if it is.
struct ConnectionState {
  bool started = false;
  bool counted = false;
  std::string client;
};
thread_local ConnectionState connection;

// Compares in time independent of where the strings differ.
bool same_secret(const std::string& given, const std::string& expected) {
  unsigned char difference = given.size() == expected.size() ? 0 : 1;
  for (size_t i = 0; i < given.size(); ++i)
    difference |= static_cast<unsigned char>(given[i] ^ expected[i % expected.size()]);
  return difference == 0;
}

bool needs_token(const std::string& path) {
  return (path.rfind("/api/", 0) == 0 && path != kHealthPath) || path == kMetricsPath;
}

bool is_known_path(const std::string& path) {
  for (const char* known : {kPredictPath, kHealthPath, kModelPath, kMetricsPath, kWorklistPath})
    if (path == known) return true;
  return false;
}

// A bounded set of metric labels, whatever paths clients make up.
std::string endpoint_label(const std::string& path, int status) {
  if (is_known_path(path)) return path;
  if (path.rfind(std::string(kWorklistPath) + "/", 0) == 0) return std::string(kWorklistPath) + "/<id>";
  return status < 400 ? "static" : "other";
}

// Why httplib answered 400 itself: it parsed what it could into `req`.
std::string bad_request_reason(const Request& req) {
  const std::set<std::string> methods = {"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"};
  if (!methods.count(req.method) || req.target.empty())
    return "malformed request line (expected METHOD /path HTTP/1.1)";
  if (req.version != "HTTP/1.1" && req.version != "HTTP/1.0")
    return "unsupported protocol version " + quoted_excerpt(req.version) + " (HTTP/1.0 or HTTP/1.1)";
  if (req.get_header_value("Transfer-Encoding") == "chunked") return "malformed chunked request body";
  if (req.is_multipart_form_data()) return "malformed multipart/form-data body";
  return "malformed request headers or body";
}

std::string default_error_message(const Request& req, int status, size_t max_body_bytes) {
  switch (status) {
    case 404:
      return "not found: " + req.method + " " + quoted_excerpt(req.path, 200);
    case 413:
      return body_too_large_message(max_body_bytes);
    case 414:
      return "request line too long";
    case 400:
      return "bad request: " + bad_request_reason(req);
    default:
      return "HTTP error " + std::to_string(status);
  }
}

// A request whose body must not be read, answered from its headers alone:
// httplib would first read (or skip) the whole declared body, which a client
// can make endless.
std::optional<BodyCheck> refuse_before_body(const Request& req, size_t max_body_bytes) {
  BodyCheck check = check_body_headers(req, max_body_bytes);
  if (check.status != 0) return check;
  if (!check.has_body || (req.method == "POST" && req.path == kPredictPath)) return std::nullopt;
  if (req.method == "GET" || req.method == "HEAD" || req.method == "OPTIONS")
    return BodyCheck{true, 400, "bad request: a " + req.method + " request carries no body"};
  if (!is_known_path(req.path))
    return BodyCheck{true, 404, "not found: " + req.method + " " + quoted_excerpt(req.path, 200)};
  return BodyCheck{
      true, 405,
      "method " + req.method + " not allowed here (use " + (req.path == kPredictPath ? "POST" : "GET") + ")"};
}

// ?similar=K: 1..kMaxSimilar cases.
int64_t similar_count(const std::string& value) {
  char* end = nullptr;
  const long long k = std::strtoll(value.c_str(), &end, 10);
  if (value.empty() || *end != '\0' || k < 1 || k > kMaxSimilar)
    throw UsageError("similar must be a whole number from 1 to " + std::to_string(kMaxSimilar) + ", got " +
                     quoted_excerpt(value));
  return k;
}

CaseAnalyzerOptions analyzer_options(const ServeConfig& config) {
  CaseAnalyzerOptions options;
  options.model_path = config.model_path;
  options.index_path = config.index_path;
  options.precision = config.precision;
  return options;
}

}  // namespace

struct HttpService::State {
  ServeConfig config;
  std::string web_root;
  ServeMetrics metrics;
  ClientConnectionLimit client_connections;
  PredictionService predictions;
  httplib::Server server;
  Clock::time_point started = Clock::now();

  std::mutex lifecycle_mutex;
  std::condition_variable lifecycle_changed;
  bool stop_requested = false;
  bool running = false;
  socket_t listen_socket = -1;  // captured while httplib creates it (see bind())
  int bound_port = 0;
  // While run() serves: set before httplib's workers start, reset after they end.
  std::unique_ptr<SlowClientWatchdog> slow_clients;

  explicit State(ServeConfig c)
      : config(std::move(c)),
        web_root(config.web_root.empty() ? find_web_root() : config.web_root),
        client_connections(config.max_connections_per_client),
        predictions(analyzer_options(config), config.batching, metrics) {
    metrics.set_queue_depth_source([this] { return predictions.queue_depth(); });
    configure_server();
    add_routes();
  }

  void configure_server() {
    const size_t threads = static_cast<size_t>(std::max(1, config.threads));
    server.new_task_queue = [this, threads] {
      return new GrowingThreadPool(threads, [this] {
        if (connection.counted) client_connections.release(connection.client);
        connection = ConnectionState{};
      });
    };
    server.set_payload_max_length(config.max_body_bytes);
    // A client silent for this long between bytes is dropped (httplib's
    // default 5 s); writes to a client that stopped reading give up alike.
    server.set_read_timeout(5);
    server.set_write_timeout(5);
    // httplib's default SO_REUSEPORT would let a second server share a port in use; a
    // restart after TIME_WAIT only needs SO_REUSEADDR.
    server.set_socket_options([this](socket_t sock) {
      int yes = 1;
      setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
      listen_socket = sock;
    });
    // Responses go out as header + body writes; without TCP_NODELAY Nagle holds
    // the second until the client's delayed ACK (~40 ms per request measured).
    server.set_tcp_nodelay(true);
    // Idle keep-alive connections hold a worker thread and delay shutdown by up to this.
    server.set_keep_alive_timeout(2);
    server.set_keep_alive_max_count(10000);
    server.set_pre_routing_handler([this](const Request& req, Response& res) {
      request_start = Clock::now();
      if (slow_clients) slow_clients->request_started(req.remote_addr, req.remote_port);
      if (!admit_connection(req)) {
        res.set_header("Retry-After", "1");
        res.set_header("Connection", "close");
        send_error(res, 429,
                   "too many connections from " + req.remote_addr + " (limit " +
                       std::to_string(client_connections.max_per_client()) +
                       " per client address, --max-connections-per-client)");
        return HandlerResponse::Handled;
      }
      if (auto refusal = refuse_before_body(req, config.max_body_bytes)) {
        if (refusal->status == 405) res.set_header("Allow", req.path == kPredictPath ? "POST" : "GET");
        res.set_header("Connection", "close");  // the body was not read
        send_error(res, refusal->status, refusal->message);
        return HandlerResponse::Handled;
      }
      if (config.token.empty() || !needs_token(req.path)) return HandlerResponse::Unhandled;
      const std::string authorization = req.get_header_value("Authorization");
      const std::string prefix = "Bearer ";
      if (authorization.rfind(prefix, 0) == 0 &&
          same_secret(authorization.substr(prefix.size()), config.token))
        return HandlerResponse::Unhandled;
      res.set_header("WWW-Authenticate", "Bearer");
      // The body was not read: do not reuse the connection.
      res.set_header("Connection", "close");
      send_error(res, 401,
                 authorization.empty() ? "missing bearer token (Authorization: Bearer <token>)"
                                       : "wrong bearer token");
      return HandlerResponse::Handled;
    });
    // Fills in JSON for errors httplib raises itself (404, 413, 400, ...).
    server.set_error_handler(httplib::Server::HandlerWithResponse([this](const Request& req, Response& res) {
      if (!res.body.empty()) return HandlerResponse::Unhandled;
      send_error(res, res.status, default_error_message(req, res.status, config.max_body_bytes));
      return HandlerResponse::Handled;
    }));
    answer_exceptions_with_json(server);
    server.set_logger([this](const Request& req, const Response& res) {
      const double seconds = request_start == Clock::time_point{} ? 0.0 : seconds_since(request_start);
      request_start = Clock::time_point{};
      metrics.record_request(endpoint_label(req.path, res.status), res.status, seconds);
      if (slow_clients) slow_clients->request_finished(req.remote_addr, req.remote_port);
      // We said close (a refusal whose body was not read): httplib would keep
      // the connection and read the rest of that body as the next request.
      if (res.get_header_value("Connection") == "close" && req.get_header_value("Connection") != "close")
        close_connection_after_response(req);
    });
  }

  // Counts the connection under its client address at its first request;
  // false when that address holds the maximum already.
  bool admit_connection(const Request& req) {
    if (connection.started) return true;
    connection.started = true;
    if (!client_connections.admit(req.remote_addr)) return false;
    connection.counted = true;
    connection.client = req.remote_addr;
    return true;
  }

  void add_routes() {
    // The body is read by predict itself, with the limit applied as it streams.
    server.Post(kPredictPath, [this](const Request& req, Response& res,
                                     const httplib::ContentReader& content) { predict(req, res, content); });
    // httplib routes a POST without a body to the plain handlers only.
    server.Post(kPredictPath, [this](const Request& req, Response& res) {
      const httplib::ContentReader nothing(
          [](const httplib::ContentReceiver&) { return true; },
          [](const httplib::MultipartContentHeader&, const httplib::ContentReceiver&) { return true; });
      predict(req, res, nothing);
    });
    server.Get(kHealthPath, [this](const Request&, Response& res) {
      send_json(res, 200,
                {{"status", "ok"},
                 {"model", predictions.model_summary()},
                 {"index", predictions.index_summary()},
                 {"queue_depth", predictions.queue_depth()},
                 {"worklist", config.worklist != nullptr},
                 {"uptime_seconds", seconds_since(started)}});
    });
    server.Get(kModelPath, [this](const Request&, Response& res) {
      send_json(res, 200, to_json(predictions.metadata()));
    });
    server.Get(kMetricsPath, [this](const Request&, Response& res) {
      res.set_content(metrics.render_prometheus(), "text/plain; version=0.0.4; charset=utf-8");
    });
    if (config.worklist) add_worklist_routes();
    add_method_not_allowed();
    if (!web_root.empty()) server.set_mount_point("/", web_root);
    server.Get("/", [this](const Request&, Response& res) {
      send_error(res, 404, "web page files not found (no web/index.html; set PNEUMOSCAN_WEB_DIR)");
    });
  }

  // The DICOM node's triage worklist: the list, one entry with its whole
  // result, and the case view's two pictures. Entries name no patient.
  void add_worklist_routes() {
    server.Get(kWorklistPath, [this](const Request& req, Response& res) {
      size_t limit = 1000;
      if (req.has_param("limit")) {
        const std::string text = req.get_param_value("limit");
        if (text.empty() || text.size() > 6 || text.find_first_not_of("0123456789") != std::string::npos)
          return send_error(res, 400, "limit must be a number from 1 to 999999");
        limit = std::max<size_t>(1, std::stoul(text));
      }
      nlohmann::json entries = nlohmann::json::array();
      for (const WorklistEntry& entry : config.worklist->list(limit)) entries.push_back(to_json(entry));
      send_json(res, 200, {{"entries", entries}, {"total", config.worklist->size()}});
    });
    server.Get(std::string(kWorklistPath) + R"(/(\d{1,18})(/xray\.jpg|/overlay\.jpg)?)",
               [this](const Request& req, Response& res) {
                 const auto entry = config.worklist->get(std::stoll(req.matches[1].str()));
                 if (!entry) return send_error(res, 404, "no worklist entry " + req.matches[1].str());
                 const std::string part = req.matches[2].str();
                 if (part.empty()) return send_json(res, 200, to_json(*entry, /*with_result=*/true));
                 const std::string& path = part == "/xray.jpg" ? entry->xray_image : entry->overlay_image;
                 if (path.empty()) return send_error(res, 404, "this entry has no such picture");
                 try {
                   res.set_content(read_file(path), "image/jpeg");
                 } catch (const Error&) {
                   send_error(res, 404, "the picture of this entry is gone from the node's output folder");
                 }
               });
  }

  void add_method_not_allowed() {
    const auto refuse = [](const std::string& allowed) {
      return [allowed](const Request& req, Response& res) {
        res.set_header("Allow", allowed);
        send_error(res, 405, "method " + req.method + " not allowed here (use " + allowed + ")");
      };
    };
    server.Get(kPredictPath, refuse("POST"));
    for (const char* path : {kPredictPath, kHealthPath, kModelPath, kMetricsPath}) {
      const std::string allowed = std::string(path) == kPredictPath ? "POST" : "GET";
      if (allowed != "POST") server.Post(path, refuse(allowed));
      server.Put(path, refuse(allowed));
      server.Delete(path, refuse(allowed));
      server.Patch(path, refuse(allowed));
    }
  }

  void predict(const Request& req, Response& res, const httplib::ContentReader& content) {
    bool body_read = false;
    try {
      std::optional<ExplainMethod> method;
      if (req.has_param("explain")) method = explain_method_from_string(req.get_param_value("explain"));
      const int64_t similar_k = req.has_param("similar") ? similar_count(req.get_param_value("similar")) : 0;
      const Upload upload = read_upload(req, content, config.max_body_bytes);
      body_read = true;
      // An explanation is drawn on the full-size image; a diagnosis needs only the model's input size.
      const Image image = decode_image_bytes(
          upload.bytes, upload.name, method ? DecodeOptions{} : predictions.analyzer().decode_options());
      nlohmann::json response = predictions.predict(image, method, similar_k, upload.name);
      response["timing_ms"]["total"] = milliseconds_since(request_start);
      // Refused by the input gate: well-formed, but not something the model may judge.
      const bool refused = response.at("gate").at("status") == "refuse";
      if (refused)
        response["error"] = response.at("file").get<std::string>() +
                            ": not analysed: " + response.at("refused").get<std::string>();
      send_json(res, refused ? 422 : 200, response);
    } catch (const HttpError& e) {
      send_error(res, e.status, e.what());
    } catch (const OverloadedError& e) {
      res.set_header("Retry-After", "1");
      send_error(res, 503, e.what());
    } catch (const InputError& e) {
      send_error(res, 400, e.what());
    } catch (const UsageError& e) {
      send_error(res, 400, e.what());
    } catch (const std::exception& e) {
      send_error(res, 500, std::string("internal error: ") + e.what());
    }
    // What is left of a refused body would be read as the next request.
    if (!body_read) res.set_header("Connection", "close");
  }
};

HttpService::HttpService(ServeConfig config) : state_(std::make_unique<State>(std::move(config))) {}

HttpService::~HttpService() { stop(); }

const ServeConfig& HttpService::config() const { return state_->config; }
const std::string& HttpService::web_root() const { return state_->web_root; }
nlohmann::json HttpService::model_summary() const { return state_->predictions.model_summary(); }

int HttpService::bind() {
  const ServeConfig& config = state_->config;
  int port = -1;
  if (config.port == 0)
    port = state_->server.bind_to_any_port(config.host);
  else if (state_->server.bind_to_port(config.host, config.port))
    port = config.port;
  if (port <= 0)
    throw IoError(config.host + ":" + std::to_string(config.port),
                  "cannot listen (address in use or not available)");
  // Debian's compiled cpp-httplib listens with a backlog of 5: a burst of
  // clients overflowed it and some requests failed. Listening again on the
  // same socket only raises the backlog.
  if (state_->listen_socket >= 0) ::listen(state_->listen_socket, SOMAXCONN);
  state_->bound_port = port;
  return port;
}

void HttpService::run() {
  {
    std::lock_guard<std::mutex> lock(state_->lifecycle_mutex);
    state_->running = !state_->stop_requested;
  }
  const ServeConfig& config = state_->config;
  if (state_->running && (config.header_timeout_ms > 0 || config.max_connections_per_client > 0)) {
    SlowClientWatchdog::Options watch;
    watch.port = state_->bound_port;
    // No deadline: a day stands for none; the scan still enforces the per-client limit.
    watch.limit =
        std::chrono::milliseconds(config.header_timeout_ms > 0 ? config.header_timeout_ms : 86400000);
    watch.max_per_client = config.max_connections_per_client;
    state_->slow_clients = std::make_unique<SlowClientWatchdog>(watch);
  }
  // listen_after_bind returns once stop() closed the socket and every
  // worker thread finished its request.
  if (state_->running) state_->server.listen_after_bind();
  state_->slow_clients.reset();
  state_->predictions.stop();
  {
    std::lock_guard<std::mutex> lock(state_->lifecycle_mutex);
    state_->running = false;
  }
  state_->lifecycle_changed.notify_all();
}

void HttpService::stop() {
  std::unique_lock<std::mutex> lock(state_->lifecycle_mutex);
  state_->stop_requested = true;
  // httplib ignores stop() until its accept loop runs, so repeat until run() returns.
  while (state_->running) {
    lock.unlock();
    state_->server.stop();
    lock.lock();
    state_->lifecycle_changed.wait_for(lock, std::chrono::milliseconds(20),
                                       [this] { return !state_->running; });
  }
}

}  // namespace pneumoscan
