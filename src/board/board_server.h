#pragma once
// `pneumoscan board`: the live training page over a log folder.
//   GET /                        the page (web/board/: index.html, board.js, board.css, on web/style.css; no
//   CDN) GET /api/runs                RunStore::runs() GET /api/scalars?since=C RunStore::scalars_since(C):
//   only the points the page has not seen GET /api/image?run=R&tag=T   the latest PNG of that image tag
// Errors are JSON {"error": "..."}. Read-only: nothing under LOGDIR is written.
#include <atomic>
#include <memory>
#include <string>

namespace pneumoscan {

struct BoardConfig {
  std::string logdir;
  std::string host = "127.0.0.1";
  int port = 6006;       // 0 = any free port
  std::string web_root;  // folder holding the page's index.html; "" = find_web_root() + "/board"
};

class BoardServer {
 public:
  // UsageError when the page's files cannot be found.
  explicit BoardServer(BoardConfig config);
  ~BoardServer();
  BoardServer(const BoardServer&) = delete;
  BoardServer& operator=(const BoardServer&) = delete;

  // Binds; returns the port (the chosen one for port 0). IoError when the address cannot be bound.
  int bind();
  // Serves until stop(). Call after bind().
  void run();
  // Thread-safe; returns once run() has returned (at once when it never ran).
  void stop();
  const std::string& web_root() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// Binds, prints "listening on http://HOST:PORT" (flushed), serves until
// SIGINT/SIGTERM. Returns the exit code.
int run_board(const BoardConfig& config);

}  // namespace pneumoscan
