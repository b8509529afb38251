#include "benchmark/all_reduce.h"

#include <torch/torch.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/timing.h"
#include "distributed/sync.h"
#include "models/registry.h"

namespace pneumoscan {

AllReduceResult time_gradient_all_reduce(const std::string& architecture, Communicator& comm, int repeats) {
  AllReduceResult result;
  result.architecture = architecture;
  result.world_size = comm.world_size();
  result.repeats = std::max(1, repeats);
  Classifier net = create_model(complete_spec({architecture, 0, 1, 0}));
  std::vector<torch::Tensor> parameters = net->parameters();
  torch::manual_seed(static_cast<uint64_t>(comm.rank()));
  for (auto& p : parameters) {
    p.mutable_grad() = torch::randn_like(p);
    result.floats += p.numel();
  }
  for (int round = 0; round < 2 + result.repeats; ++round) {
    comm.barrier();
    const auto start = Clock::now();
    average_gradients(parameters, comm);
    if (round >= 2) result.milliseconds.push_back(1000.0 * seconds_since(start));
  }
  std::vector<double> sorted = result.milliseconds;
  std::sort(sorted.begin(), sorted.end());
  result.median_ms = sorted[sorted.size() / 2];
  result.min_ms = sorted.front();
  const double n = comm.world_size();
  result.bus_gigabytes_per_second =
      2.0 * (n - 1) / n * 4.0 * result.floats / (result.median_ms / 1000.0) / 1e9;
  return result;
}

nlohmann::json to_json(const AllReduceResult& r) {
  return {{"architecture", r.architecture},
          {"world_size", r.world_size},
          {"floats", r.floats},
          {"bytes", 4 * r.floats},
          {"repeats", r.repeats},
          {"milliseconds", r.milliseconds},
          {"median_ms", r.median_ms},
          {"min_ms", r.min_ms},
          {"bus_gigabytes_per_second", r.bus_gigabytes_per_second}};
}

}  // namespace pneumoscan
