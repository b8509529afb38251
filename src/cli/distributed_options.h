#pragma once
// The data-parallel flags of `train`: --world-size, --rank, --master-addr,
// --master-port (over WORLD_SIZE, RANK, MASTER_ADDR, MASTER_PORT from a
// torchrun-style launcher; a flag wins) and --dist-timeout.
#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "distributed/communicator.h"

namespace pneumoscan::cli {

struct DistributedFlags {
  DistributedOptions given;
  CLI::Option* world_size = nullptr;
  CLI::Option* rank = nullptr;
  CLI::Option* master_addr = nullptr;
  CLI::Option* master_port = nullptr;
};

void add_distributed_options(CLI::App* cmd, DistributedFlags& flags);

// The environment's settings with the given flags over them, for `device`.
DistributedOptions resolve(const DistributedFlags& flags, const std::string& device);

// The device a rank trains on: one GPU per rank (LOCAL_RANK's, else the rank
// modulo the GPUs) for "cuda" in a group; `device` otherwise.
std::string rank_device(const DistributedOptions& options, const std::string& device);

// Joins the group when the world size is above 1 (prints which rank joined), else nullptr.
std::unique_ptr<Communicator> join_group(const DistributedOptions& options);

}  // namespace pneumoscan::cli
