#include "cli/distributed_options.h"

#include <torch/cuda.h>

#include <algorithm>
#include <cstdio>

namespace pneumoscan::cli {

void add_distributed_options(CLI::App* cmd, DistributedFlags& flags) {
  DistributedOptions& o = flags.given;
  const char* group =
      "Data-parallel training (c10d; default from WORLD_SIZE, RANK, MASTER_ADDR, MASTER_PORT)";
  flags.world_size = cmd->add_option("--world-size", o.world_size, "Number of training processes")
                         ->check(CLI::PositiveNumber)
                         ->group(group);
  flags.rank = cmd->add_option("--rank", o.rank,
                               "This process's rank in [0, world size); rank 0 writes the "
                               "model, checkpoint and logs")
                   ->check(CLI::NonNegativeNumber)
                   ->group(group);
  flags.master_addr =
      cmd->add_option("--master-addr", o.master_addr, "Address of rank 0, which serves the rendezvous")
          ->group(group);
  flags.master_port = cmd->add_option("--master-port", o.master_port, "Rendezvous port on rank 0")
                          ->check(CLI::Range(1, 65535))
                          ->group(group);
  cmd->add_option("--dist-timeout", o.timeout_seconds,
                  "Seconds every rank may take to arrive, and a peer may stay silent before the others stop")
      ->check(CLI::PositiveNumber)
      ->capture_default_str()
      ->group(group);
}

DistributedOptions resolve(const DistributedFlags& flags, const std::string& device) {
  DistributedOptions options = with_environment(DistributedOptions{});
  if (flags.world_size->count() > 0) options.world_size = flags.given.world_size;
  if (flags.rank->count() > 0) options.rank = flags.given.rank;
  if (flags.master_addr->count() > 0) options.master_addr = flags.given.master_addr;
  if (flags.master_port->count() > 0) options.master_port = flags.given.master_port;
  options.timeout_seconds = flags.given.timeout_seconds;
  options.device = device.rfind("cuda", 0) == 0 ? "cuda" : device;
  validate(options);
  return options;
}

std::unique_ptr<Communicator> join_group(const DistributedOptions& options) {
  if (!options.distributed()) return nullptr;
  auto comm = std::make_unique<Communicator>(options);
  std::printf("joined as %s\n", comm->where().c_str());
  std::fflush(stdout);
  return comm;
}

std::string rank_device(const DistributedOptions& options, const std::string& device) {
  if (!options.distributed() || device != "cuda") return device;
  const int gpus = static_cast<int>(std::max<int64_t>(1, torch::cuda::device_count()));
  return "cuda:" + std::to_string(options.local_rank >= 0 ? options.local_rank : options.rank % gpus);
}

}  // namespace pneumoscan::cli
