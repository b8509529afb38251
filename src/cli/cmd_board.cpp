// pneumoscan board: the live training page over a --logdir (src/board).
#include <csignal>

#include "board/board_server.h"
#include "cli/command.h"

namespace pneumoscan::cli {
namespace {

std::function<int()> add_board(CLI::App& app) {
  auto config = std::make_shared<BoardConfig>();
  CLI::App* cmd = app.add_subcommand(
      "board",
      "Live training page: every run under --logdir (event files written by train/compare --logdir), scalar "
      "charts with runs overlaid, latest images, a table of runs; updates while training runs");
  cmd->add_option("--logdir", config->logdir, "Log folder given to train/compare --logdir")->required();
  cmd->add_option("--host", config->host, "Address to listen on (0.0.0.0 for all interfaces)")
      ->capture_default_str();
  cmd->add_option("--port", config->port, "Port (0 = any free port, printed at start)")
      ->capture_default_str()
      ->check(CLI::Range(0, 65535));
  return [config] {
    std::signal(SIGPIPE, SIG_IGN);  // a browser that goes away is an error return, not an exit
    return run_board(*config);
  };
}

}  // namespace

PNEUMOSCAN_COMMAND(board, add_board);

}  // namespace pneumoscan::cli
