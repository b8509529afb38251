#include "board/board_server.h"

#include <httplib.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "board/run_store.h"
#include "core/errors.h"
#include "serve/http_json.h"
#include "serve/shutdown_signal.h"
#include "serve/web_root.h"

namespace pneumoscan {
namespace {
using httplib::Request;
using httplib::Response;

// The API's answers change with every poll: never cached.
void send_fresh_json(Response& res, int status, const nlohmann::json& body) {
  res.set_header("Cache-Control", "no-store");
  send_json(res, status, body);
}

std::string board_web_root(const std::string& configured) {
  if (!configured.empty()) return configured;
  const std::string web = find_web_root();
  return web.empty() ? "" : (std::filesystem::path(web) / "board").string();
}

}  // namespace

struct BoardServer::State {
  BoardConfig config;
  std::string web_root;
  RunStore store;
  httplib::Server server;
  std::atomic<bool> stop_requested{false}, running{false};

  explicit State(BoardConfig c)
      : config(std::move(c)), web_root(board_web_root(config.web_root)), store(config.logdir) {
    if (web_root.empty() || !std::filesystem::exists(std::filesystem::path(web_root) / "index.html"))
      throw UsageError(
          "the training page's files (web/board/index.html) were not found; set PNEUMOSCAN_WEB_DIR "
          "to the repository's web/ folder");
    server.set_keep_alive_timeout(2);
    answer_exceptions_with_json(server);
    server.set_error_handler(httplib::Server::HandlerWithResponse([](const Request& req, Response& res) {
      if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
      send_error(res, res.status, "HTTP " + std::to_string(res.status) + ": " + req.method + " " + req.path);
      return httplib::Server::HandlerResponse::Handled;
    }));
    server.Get("/api/runs",
               [this](const Request&, Response& res) { send_fresh_json(res, 200, store.runs()); });
    server.Get("/api/scalars", [this](const Request& req, Response& res) {
      uint64_t since = 0;
      if (req.has_param("since")) {
        const std::string text = req.get_param_value("since");
        char* end = nullptr;
        since = std::strtoull(text.c_str(), &end, 10);
        if (text.empty() || *end != '\0' || text[0] == '-')
          return send_error(res, 400, "since must be a whole number (a cursor from /api/scalars)");
      }
      send_fresh_json(res, 200, store.scalars_since(since));
    });
    server.Get("/api/image", [this](const Request& req, Response& res) {
      const auto image = store.latest_image(req.get_param_value("run"), req.get_param_value("tag"));
      if (!image) return send_error(res, 404, "no image for that run and tag");
      res.set_header("Cache-Control", "no-store");
      res.set_header("X-Step", std::to_string(image->step));
      res.set_content(image->png, "image/png");
    });
    server.set_mount_point("/", web_root);
    // The base stylesheet the service page uses too (web/style.css), next to web/board/.
    server.set_mount_point("/", std::filesystem::path(web_root).parent_path().string());
  }
};

BoardServer::BoardServer(BoardConfig config) : state_(std::make_unique<State>(std::move(config))) {}
BoardServer::~BoardServer() { stop(); }
const std::string& BoardServer::web_root() const { return state_->web_root; }

int BoardServer::bind() {
  const BoardConfig& c = state_->config;
  const int port = c.port == 0 ? state_->server.bind_to_any_port(c.host)
                               : (state_->server.bind_to_port(c.host, c.port) ? c.port : -1);
  if (port <= 0)
    throw IoError(c.host + ":" + std::to_string(c.port), "cannot listen (address in use or not available)");
  return port;
}

void BoardServer::run() {
  state_->running = true;
  if (!state_->stop_requested) state_->server.listen_after_bind();
  state_->running = false;
}

void BoardServer::stop() {
  state_->stop_requested = true;
  // httplib ignores stop() until its accept loop runs, so repeat until run() returns.
  while (state_->running) {
    state_->server.stop();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

int run_board(const BoardConfig& config) {
  BoardServer board(config);
  const int port = board.bind();
  std::fprintf(stderr, "training page for %s (page files: %s)\n", config.logdir.c_str(),
               board.web_root().c_str());
  std::printf("listening on http://%s:%d\n", config.host.c_str(), port);
  std::fflush(stdout);
  ShutdownOnSignal on_signal([&] { board.stop(); });
  board.run();
  return 0;
}

}  // namespace pneumoscan
