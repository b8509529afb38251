#pragma once
// The communication cost of data-parallel training, behind `pneumoscan bench
// --allreduce ARCH`: the time of one gradient all-reduce of a network
// (distributed/sync.h's average_gradients: 25 MB buckets, all in flight,
// then divided by the world size) between the ranks of a group.
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "distributed/communicator.h"

namespace pneumoscan {

struct AllReduceResult {
  std::string architecture;
  int world_size = 0;
  int64_t floats = 0;  // gradient elements (float32)
  int repeats = 0;
  std::vector<double> milliseconds;  // each timed all-reduce, after a barrier
  double median_ms = 0, min_ms = 0;
  double bus_gigabytes_per_second = 0;  // ring all-reduce traffic 2 (N-1)/N x bytes / median time
};

// Averages random gradients shaped like `architecture`'s parameters over the
// group: 2 warm-up rounds, then `repeats` timed ones, each after a barrier.
// A collective: every rank calls it with the same arguments. Throws
// UsageError for an unknown architecture, DistributedError when the group is lost.
AllReduceResult time_gradient_all_reduce(const std::string& architecture, Communicator& comm, int repeats);

nlohmann::json to_json(const AllReduceResult& result);

}  // namespace pneumoscan
