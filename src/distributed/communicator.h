#pragma once
// One process of a data-parallel group on torch.distributed (c10d): a
// TCPStore rendezvous (rank 0 serves it at MASTER_ADDR:MASTER_PORT, the
// others connect) and a process group over it, ProcessGroupGloo on CPU
// (ProcessGroupNCCL for device "cuda" when built with USE_C10D_NCCL).
//
// Contract: every rank calls the same collectives in the same order with
// tensors of the same sizes and types. Each collective waits for its result;
// none hangs: the rendezvous and every collective are bounded by `timeout`,
// and a peer that dies breaks its connections, which fails the collective at
// once. Every failure is a DistributedError naming this rank and the
// rendezvous; the c10d/Gloo message is kept, cut to its first line.
#include <torch/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "core/errors.h"

namespace pneumoscan {

// Data-parallel training lost its group: the rendezvous was not reached in
// time, or a peer died or stopped answering. The message starts with this
// process and the rendezvous: "rank 1 of 2 (10.0.0.1:29500): ...". A
// front end prints it as one line, like every Error.
struct DistributedError : Error {
  DistributedError(const std::string& where, const std::string& problem) : Error(where + ": " + problem) {}
};

struct DistributedOptions {
  int world_size = 1;
  int rank = 0;
  int local_rank = -1;  // this rank's GPU on its machine (LOCAL_RANK); -1: the rank itself
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  // Bounds the rendezvous (every rank must arrive within it) and every
  // collective (a peer silent for longer is taken for dead).
  double timeout_seconds = 300;
  std::string device = "cpu";  // "cuda": NCCL (needs a CUDA LibTorch built with USE_C10D_NCCL)

  bool distributed() const { return world_size > 1; }
};

// `options` with the fields the launcher set in the environment, the way
// torchrun and MPI launchers do: WORLD_SIZE, RANK, LOCAL_RANK, MASTER_ADDR,
// MASTER_PORT (OMPI_COMM_WORLD_SIZE/RANK/LOCAL_RANK as fallbacks). Unset variables leave the field
// alone. Throws UsageError for a variable that is not a number.
DistributedOptions with_environment(DistributedOptions options);

// Throws UsageError naming the first broken rule: world size >= 1, rank in
// [0, world size), port in [1, 65535], timeout > 0, device cpu or cuda.
void validate(const DistributedOptions& options);

class Communicator {
 public:
  // Joins the group (validates `options` first). Blocks until all ranks have
  // arrived. Throws DistributedError when they do not arrive within the
  // timeout or the rendezvous cannot be served (port taken) or reached.
  explicit Communicator(const DistributedOptions& options);
  ~Communicator();
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;

  int rank() const { return options_.rank; }
  int world_size() const { return options_.world_size; }
  bool is_root() const { return options_.rank == 0; }
  const DistributedOptions& options() const { return options_; }
  // "rank R of N (ADDR:PORT)": the prefix of every DistributedError.
  std::string where() const;

  // In place, on contiguous tensors: all of them in flight at once, then
  // waited on (the buckets of a gradient all-reduce). On cuda, CPU tensors
  // are staged through the GPU (NCCL moves device memory only).
  void all_reduce_sum(std::vector<torch::Tensor>& tensors);
  void broadcast(std::vector<torch::Tensor>& tensors, int root = 0);
  void barrier();

 private:
  struct Group;
  DistributedOptions options_;
  std::unique_ptr<Group> group_;
};

}  // namespace pneumoscan
