#pragma once
// The distributed sampler: which cache entries a rank trains on in an epoch.
// Every rank draws the same epoch order (data/loader.h's epoch_order: the
// seeded permutation, reshuffled per epoch), pads it by repeating its start
// to a multiple of the world size, and takes positions rank, rank + N, ...
// So the ranks' shards are disjoint (but for the padding), cover the epoch,
// and are equally long: every rank runs the same number of steps. With a
// per-rank batch of B/N, step k of all ranks together sees exactly the
// images of step k of one process with batch B (when N divides the padded
// length into whole batches), as torch's DistributedSampler does.
#include <cstddef>
#include <vector>

namespace pneumoscan {

// Positions rank, rank + world_size, ... of `order` padded to a multiple of
// `world_size`. Throws UsageError for an empty order or a rank outside
// [0, world_size).
std::vector<size_t> shard_of(const std::vector<size_t>& order, int rank, int world_size);

}  // namespace pneumoscan
