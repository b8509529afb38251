#pragma once
// What data-parallel training keeps equal across the ranks of a
// Communicator: the weights at the start, the gradients of every step, the
// BatchNorm statistics of every epoch, and the few numbers the ranks must
// agree on (sums, rank 0's validation loss, rank 0's checkpoint file).
//
// Tensors travel in flat buckets of at most `bucket_bytes` (one per dtype
// run; a tensor larger than a bucket goes alone), all buckets in flight at
// once, as torch DistributedDataParallel does with its 25 MB buckets.
// Every function is a collective: all ranks call it in the same order with
// the same shapes. Throws DistributedError (distributed/communicator.h).
#include <torch/nn/module.h>

#include <cstddef>
#include <string>
#include <vector>

#include "distributed/communicator.h"

namespace pneumoscan {

constexpr size_t kDefaultBucketBytes = 25u << 20;

// Sets every parameter and buffer of `module` to rank 0's.
void broadcast_module(torch::nn::Module& module, Communicator& comm,
                      size_t bucket_bytes = kDefaultBucketBytes);

// Replaces the gradient of each of `parameters` by the mean over the ranks
// (sum, then divided by the world size). Parameters without a gradient are
// left out; that set must be the same on every rank (the same network and
// freeze state give it).
void average_gradients(const std::vector<torch::Tensor>& parameters, Communicator& comm,
                       size_t bucket_bytes = kDefaultBucketBytes);

// Replaces every floating-point buffer of `module` (BatchNorm running mean
// and variance) by its mean over the ranks; integer buffers (batch counters,
// the same everywhere) are left alone.
void average_buffers(torch::nn::Module& module, Communicator& comm);

// Element-wise sums of `values` over the ranks (float64).
std::vector<double> sum_over_ranks(const std::vector<double>& values, Communicator& comm);

// Rank 0's `values` on every rank (others pass a vector of the same size).
std::vector<double> from_root(const std::vector<double>& values, Communicator& comm);

// Rank 0's `bytes` on every rank (any size; others pass anything).
std::string bytes_from_root(const std::string& bytes, Communicator& comm);

}  // namespace pneumoscan
