#include "distributed/communicator.h"

#include <arpa/inet.h>
#include <glog/logging.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <sstream>
#include <thread>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef USE_C10D_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include "core/errors.h"

namespace pneumoscan {
namespace {

int environment_number(const char* name, int fallback) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return fallback;
  char* end = nullptr;
  const long number = std::strtol(value, &end, 10);
  if (*end != '\0') throw UsageError(std::string(name) + "=" + value + " is not a number");
  return static_cast<int>(number);
}

// The first line of an exception's message, without c10's backtrace.
std::string first_line(const std::exception& e) {
  const auto* c10_error = dynamic_cast<const c10::Error*>(&e);
  std::string message = c10_error != nullptr ? c10_error->what_without_backtrace() : e.what();
  const size_t end = message.find('\n');
  return end == std::string::npos ? message : message.substr(0, end);
}

// The address of this machine on the route towards `host`: what the peers
// reach this rank at (a UDP socket "connected" to the master sends nothing).
// "" when the route cannot be found.
std::string local_address_towards(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0 || found == nullptr)
    return "";
  std::string address;
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd >= 0 && connect(fd, found->ai_addr, found->ai_addrlen) == 0) {
    sockaddr_in local{};
    socklen_t length = sizeof local;
    char text[INET_ADDRSTRLEN] = {};
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &length) == 0 &&
        inet_ntop(AF_INET, &local.sin_addr, text, sizeof text) != nullptr)
      address = text;
  }
  if (fd >= 0) close(fd);
  freeaddrinfo(found);
  return address;
}

// Gloo's transport: the interface in GLOO_SOCKET_IFNAME when set (as in
// PyTorch), else the address that routes to the master.
std::shared_ptr<::gloo::transport::Device> gloo_device(const DistributedOptions& options) {
  const char* interface = std::getenv("GLOO_SOCKET_IFNAME");
  if (interface != nullptr && *interface != '\0')
    return c10d::ProcessGroupGloo::createDeviceForInterface(interface);
  const std::string address = local_address_towards(options.master_addr, options.master_port);
  return address.empty() ? c10d::ProcessGroupGloo::createDefaultDevice()
                         : c10d::ProcessGroupGloo::createDeviceForHostname(address);
}

// c10d logs each failed connection attempt through glog before it throws;
// the DistributedError says it in one line, so glog stays quiet meanwhile.
class QuietGlog {
 public:
  QuietGlog() : level_(FLAGS_minloglevel) { FLAGS_minloglevel = google::GLOG_FATAL; }
  ~QuietGlog() { FLAGS_minloglevel = level_; }

 private:
  int level_;
};

std::string seconds_text(double seconds) {
  std::ostringstream text;
  text << seconds;
  return text.str();
}

// Every rank announces itself in the store and polls until all have (the
// store's own wait cannot say who is missing).
void wait_for_all_ranks(c10d::Store& store, const DistributedOptions& options,
                        std::chrono::milliseconds timeout, const std::string& where) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  store.set("pneumoscan/arrived/" + std::to_string(options.rank), std::vector<uint8_t>{1});
  store.add("pneumoscan/arrived", 1);
  while (store.add("pneumoscan/arrived", 0) < options.world_size) {
    if (std::chrono::steady_clock::now() >= deadline) {
      std::string missing;
      for (int r = 0; r < options.world_size; ++r)
        if (!store.check({"pneumoscan/arrived/" + std::to_string(r)}))
          missing += (missing.empty() ? "" : ", ") + std::to_string(r);
      throw DistributedError(where, "rank(s) " + missing + " did not arrive within " +
                                        seconds_text(options.timeout_seconds) + " s");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace

DistributedOptions with_environment(DistributedOptions options) {
  options.world_size = environment_number("OMPI_COMM_WORLD_SIZE", options.world_size);
  options.rank = environment_number("OMPI_COMM_WORLD_RANK", options.rank);
  options.local_rank = environment_number("OMPI_COMM_WORLD_LOCAL_RANK", options.local_rank);
  options.local_rank = environment_number("LOCAL_RANK", options.local_rank);
  options.world_size = environment_number("WORLD_SIZE", options.world_size);
  options.rank = environment_number("RANK", options.rank);
  options.master_port = environment_number("MASTER_PORT", options.master_port);
  const char* address = std::getenv("MASTER_ADDR");
  if (address != nullptr && *address != '\0') options.master_addr = address;
  return options;
}

void validate(const DistributedOptions& options) {
  if (options.world_size < 1) throw UsageError("world size must be at least 1");
  if (options.rank < 0 || options.rank >= options.world_size)
    throw UsageError("rank " + std::to_string(options.rank) + " is outside [0, " +
                     std::to_string(options.world_size) + ")");
  if (options.master_port < 1 || options.master_port > 65535)
    throw UsageError("master port " + std::to_string(options.master_port) + " is outside [1, 65535]");
  if (!(options.timeout_seconds > 0)) throw UsageError("the distributed timeout must be positive");
  if (options.device != "cpu" && options.device != "cuda")
    throw UsageError("distributed training runs on cpu (Gloo) or cuda (NCCL), not " + options.device);
}

struct Communicator::Group {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroup> group;
};

std::string Communicator::where() const {
  return "rank " + std::to_string(options_.rank) + " of " + std::to_string(options_.world_size) + " (" +
         options_.master_addr + ":" + std::to_string(options_.master_port) + ")";
}

Communicator::Communicator(const DistributedOptions& options) : options_(options) {
  validate(options_);
  const auto timeout =
      std::chrono::milliseconds(static_cast<int64_t>(options_.timeout_seconds * 1000.0 + 0.5));
  group_ = std::make_unique<Group>();
  const QuietGlog quiet;
  c10d::TCPStoreOptions store_options;
  store_options.port = static_cast<uint16_t>(options_.master_port);
  store_options.isServer = is_root();
  store_options.waitWorkers = false;  // wait_for_all_ranks says which rank is missing
  store_options.timeout = timeout;
  try {
    group_->store = c10::make_intrusive<c10d::TCPStore>(options_.master_addr, store_options);
  } catch (const std::exception& e) {
    throw DistributedError(where(), (is_root() ? "cannot serve the rendezvous ("
                                               : "cannot reach the rendezvous within " +
                                                     seconds_text(options_.timeout_seconds) + " s (") +
                                        first_line(e) + ")");
  }
  try {
    wait_for_all_ranks(*group_->store, options_, timeout, where());
  } catch (const DistributedError&) {
    throw;
  } catch (const std::exception& e) {
    throw DistributedError(where(), "lost the rendezvous (" + first_line(e) + ")");
  }
  try {
    if (options_.device == "cuda") {
#ifdef USE_C10D_NCCL
      auto nccl_options = c10d::ProcessGroupNCCL::Options::create();
      nccl_options->timeout = timeout;
      group_->group = c10::make_intrusive<c10d::ProcessGroupNCCL>(group_->store, options_.rank,
                                                                  options_.world_size, nccl_options);
#else
      throw UsageError("distributed training on cuda needs a CUDA LibTorch and a build with USE_C10D_NCCL");
#endif
    } else {
      auto gloo_options = c10d::ProcessGroupGloo::Options::create(timeout);
      gloo_options->devices.push_back(gloo_device(options_));
      group_->group = c10::make_intrusive<c10d::ProcessGroupGloo>(group_->store, options_.rank,
                                                                  options_.world_size, gloo_options);
    }
  } catch (const UsageError&) {
    throw;
  } catch (const std::exception& e) {
    throw DistributedError(where(), "cannot connect the process group (" + first_line(e) + ")");
  }
}

Communicator::~Communicator() = default;

namespace {

// Waits for every work item; the first failure as a DistributedError.
void wait_all(const std::vector<c10::intrusive_ptr<c10d::Work>>& works, const std::string& where,
              const char* what) {
  for (const auto& work : works) {
    try {
      work->wait();
    } catch (const std::exception& e) {
      throw DistributedError(
          where, std::string(what) + " failed, a peer has died or stopped answering (" + first_line(e) + ")");
    }
  }
}

// Launches the collective on each tensor (CPU tensors staged on the GPU
// when `device` is cuda), waits for all, and copies staged results back.
template <typename Launch>
void run_collective(const std::string& where, const char* what, const std::string& device,
                    std::vector<torch::Tensor>& tensors, Launch launch) {
  std::vector<torch::Tensor> staged;
  std::vector<c10::intrusive_ptr<c10d::Work>> works;
  try {
    for (auto& tensor : tensors) {
      TORCH_CHECK(tensor.is_contiguous(), what, ": tensors must be contiguous");
      staged.push_back(device == "cuda" && !tensor.is_cuda() ? tensor.to(torch::kCUDA) : tensor);
      std::vector<torch::Tensor> one{staged.back()};
      works.push_back(launch(one));
    }
  } catch (const std::exception& e) {
    throw DistributedError(where, std::string(what) + " could not start (" + first_line(e) + ")");
  }
  wait_all(works, where, what);
  for (size_t i = 0; i < tensors.size(); ++i)
    if (!staged[i].is_same(tensors[i])) tensors[i].copy_(staged[i]);
}

}  // namespace

void Communicator::all_reduce_sum(std::vector<torch::Tensor>& tensors) {
  run_collective(where(), "all-reduce", options_.device, tensors, [this](std::vector<torch::Tensor>& one) {
    return group_->group->allreduce(one, c10d::AllreduceOptions{});
  });
}

void Communicator::broadcast(std::vector<torch::Tensor>& tensors, int root) {
  c10d::BroadcastOptions broadcast_options;
  broadcast_options.rootRank = root;
  run_collective(where(), "broadcast", options_.device, tensors,
                 [this, &broadcast_options](std::vector<torch::Tensor>& one) {
                   return group_->group->broadcast(one, broadcast_options);
                 });
}

void Communicator::barrier() {
  std::vector<c10::intrusive_ptr<c10d::Work>> works;
  try {
    works.push_back(group_->group->barrier());
  } catch (const std::exception& e) {
    throw DistributedError(where(), "barrier could not start (" + first_line(e) + ")");
  }
  wait_all(works, where(), "barrier");
}

}  // namespace pneumoscan
