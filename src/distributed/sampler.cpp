#include "distributed/sampler.h"

#include <string>

#include "core/errors.h"

namespace pneumoscan {

std::vector<size_t> shard_of(const std::vector<size_t>& order, int rank, int world_size) {
  if (world_size < 1 || rank < 0 || rank >= world_size)
    throw UsageError("rank " + std::to_string(rank) + " is outside [0, " + std::to_string(world_size) + ")");
  if (order.empty()) throw UsageError("no images to share between " + std::to_string(world_size) + " ranks");
  const size_t ranks = static_cast<size_t>(world_size);
  const size_t padded = (order.size() + ranks - 1) / ranks * ranks;
  std::vector<size_t> shard;
  shard.reserve(padded / ranks);
  for (size_t position = static_cast<size_t>(rank); position < padded; position += ranks)
    shard.push_back(order[position % order.size()]);
  return shard;
}

}  // namespace pneumoscan
