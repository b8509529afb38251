#include "distributed/sync.h"

#include <torch/torch.h>

#include <cstring>

namespace pneumoscan {
namespace {

// Flat buffers holding `tensors` in order, each at most `bucket_bytes` (a
// larger tensor alone), one dtype per buffer.
struct Buckets {
  std::vector<torch::Tensor> flat;
  std::vector<std::vector<torch::Tensor>> members;

  Buckets(const std::vector<torch::Tensor>& tensors, size_t bucket_bytes) {
    std::vector<torch::Tensor> current;
    size_t bytes = 0;
    auto close = [&] {
      if (current.empty()) return;
      std::vector<torch::Tensor> pieces;
      for (const auto& t : current) pieces.push_back(t.reshape(-1));
      flat.push_back(torch::cat(pieces).contiguous());
      members.push_back(current);
      current.clear();
      bytes = 0;
    };
    for (const auto& t : tensors) {
      const size_t size = static_cast<size_t>(t.numel()) * t.element_size();
      if (!current.empty() && (t.scalar_type() != current.front().scalar_type() ||
                               t.device() != current.front().device() || bytes + size > bucket_bytes))
        close();
      current.push_back(t);
      bytes += size;
    }
    close();
  }

  // Copies the buffers back into the tensors (their own memory format kept), times `scale`.
  void unpack(double scale) {
    for (size_t b = 0; b < flat.size(); ++b) {
      if (scale != 1.0) flat[b].mul_(scale);
      int64_t offset = 0;
      for (auto& t : members[b]) {
        t.copy_(flat[b].narrow(0, offset, t.numel()).view(t.sizes()));
        offset += t.numel();
      }
    }
  }
};

std::vector<torch::Tensor> module_tensors(torch::nn::Module& module) {
  std::vector<torch::Tensor> tensors;
  for (const auto& p : module.parameters()) tensors.push_back(p);
  for (const auto& b : module.buffers()) tensors.push_back(b);
  return tensors;
}

}  // namespace

void broadcast_module(torch::nn::Module& module, Communicator& comm, size_t bucket_bytes) {
  torch::NoGradGuard no_grad;
  Buckets buckets(module_tensors(module), bucket_bytes);
  comm.broadcast(buckets.flat, 0);
  buckets.unpack(1.0);
}

void average_gradients(const std::vector<torch::Tensor>& parameters, Communicator& comm,
                       size_t bucket_bytes) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> gradients;
  for (const auto& p : parameters)
    if (p.grad().defined()) gradients.push_back(p.mutable_grad());
  Buckets buckets(gradients, bucket_bytes);
  comm.all_reduce_sum(buckets.flat);
  buckets.unpack(1.0 / comm.world_size());
}

void average_buffers(torch::nn::Module& module, Communicator& comm) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> floating;
  for (const auto& b : module.buffers())
    if (b.is_floating_point()) floating.push_back(b);
  Buckets buckets(floating, kDefaultBucketBytes);
  comm.all_reduce_sum(buckets.flat);
  buckets.unpack(1.0 / comm.world_size());
}

std::vector<double> sum_over_ranks(const std::vector<double>& values, Communicator& comm) {
  std::vector<torch::Tensor> tensor{torch::tensor(values, torch::kFloat64)};
  comm.all_reduce_sum(tensor);
  return std::vector<double>(tensor[0].data_ptr<double>(), tensor[0].data_ptr<double>() + values.size());
}

std::vector<double> from_root(const std::vector<double>& values, Communicator& comm) {
  std::vector<torch::Tensor> tensor{torch::tensor(values, torch::kFloat64)};
  comm.broadcast(tensor, 0);
  return std::vector<double>(tensor[0].data_ptr<double>(), tensor[0].data_ptr<double>() + values.size());
}

std::string bytes_from_root(const std::string& bytes, Communicator& comm) {
  const double size = from_root({static_cast<double>(bytes.size())}, comm).at(0);
  if (size == 0) return "";
  std::vector<torch::Tensor> buffer{torch::zeros({static_cast<int64_t>(size)}, torch::kUInt8)};
  if (comm.is_root() && !bytes.empty()) std::memcpy(buffer[0].data_ptr(), bytes.data(), bytes.size());
  comm.broadcast(buffer, 0);
  return std::string(static_cast<const char*>(buffer[0].data_ptr()), static_cast<size_t>(size));
}

}  // namespace pneumoscan
