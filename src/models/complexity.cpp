#include "models/complexity.h"

#include <ATen/record_function.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "core/timing.h"

namespace pneumoscan {
namespace {

// Per-thread state of the counting callback (the callback is a plain function pointer).
thread_local int64_t counted_multiply_adds = 0;
thread_local int counted_depth = 0;  // counted operators currently running on this thread

// Multiply-adds per output element of a counted operator, known at its start.
struct CountContext : at::ObserverContext {
  int64_t per_output = 0;
  bool outermost = false;
};

int64_t last_dim(const c10::IValue& value) {
  if (!value.isTensor()) return 0;
  const at::Tensor& t = value.toTensor();
  return t.dim() > 0 ? t.size(-1) : 0;
}

// Multiply-adds per output element, or -1 for an operator that is not counted.
int64_t per_output_element(const at::RecordFunction& fn) {
  const char* name = fn.name();
  const auto inputs = fn.inputs();
  if (std::strcmp(name, "aten::convolution") == 0 || std::strcmp(name, "aten::_convolution") == 0) {
    if (inputs.size() < 2 || !inputs[1].isTensor()) return 0;
    const at::Tensor& weight =
        inputs[1].toTensor();  // [out, in/groups, kh, kw] (transposed: [in, out/groups, ...])
    int64_t per = 1;
    for (int64_t d = 1; d < weight.dim(); ++d) per *= weight.size(d);
    return per;
  }
  if (std::strcmp(name, "aten::linear") == 0)  // input [..., in], weight [out, in]
    return inputs.empty() ? 0 : last_dim(inputs[0]);
  if (std::strcmp(name, "aten::addmm") == 0)  // bias, mat1 [n, k], mat2 [k, m]
    return inputs.size() < 2 ? 0 : last_dim(inputs[1]);
  if (std::strcmp(name, "aten::matmul") == 0 || std::strcmp(name, "aten::mm") == 0 ||
      std::strcmp(name, "aten::bmm") == 0)
    return inputs.empty() ? 0 : last_dim(inputs[0]);
  return -1;
}

std::unique_ptr<at::ObserverContext> on_start(const at::RecordFunction& fn) {
  const int64_t per = per_output_element(fn);
  if (per < 0) return nullptr;
  auto context = std::make_unique<CountContext>();
  context->per_output = per;
  context->outermost = counted_depth == 0;
  ++counted_depth;
  return context;
}

void on_end(const at::RecordFunction& fn, at::ObserverContext* context_base) {
  auto* context = static_cast<CountContext*>(context_base);
  if (context == nullptr) return;
  --counted_depth;
  if (!context->outermost) return;
  for (const auto& output : fn.outputs())
    if (output.isTensor()) counted_multiply_adds += output.toTensor().numel() * context->per_output;
}

torch::Tensor probe_input(torch::nn::Module& net, int64_t in_channels, int64_t input_size) {
  const auto parameters = net.parameters();
  const auto options = parameters.empty() ? torch::TensorOptions() : parameters.front().options();
  return torch::rand({1, in_channels, input_size, input_size}, options.requires_grad(false));
}

}  // namespace

int64_t count_multiply_adds(ClassifierImpl& net, int64_t in_channels, int64_t input_size) {
  EvalModeGuard eval(net);
  torch::NoGradGuard no_grad;
  const torch::Tensor input = probe_input(net, in_channels, input_size);
  counted_multiply_adds = 0;
  counted_depth = 0;
  const at::CallbackHandle handle = at::addThreadLocalCallback(
      at::RecordFunctionCallback(&on_start, &on_end).needsInputs(true).needsOutputs(true));
  try {
    net.forward(input);
  } catch (...) {
    at::removeCallback(handle);
    throw;
  }
  at::removeCallback(handle);
  return counted_multiply_adds;
}

double measure_forward_seconds(ClassifierImpl& net, int64_t in_channels, int64_t input_size, int runs) {
  EvalModeGuard eval(net);
  torch::NoGradGuard no_grad;
  const torch::Tensor input = probe_input(net, in_channels, input_size);
  net.forward(input);  // warm-up: first-call allocations and kernel selection
  std::vector<double> seconds;
  for (int i = 0; i < std::max(1, runs); ++i) {
    const Stopwatch stopwatch;
    net.forward(input);
    seconds.push_back(stopwatch.seconds());
  }
  std::nth_element(seconds.begin(), seconds.begin() + seconds.size() / 2, seconds.end());
  return seconds[seconds.size() / 2];
}

}  // namespace pneumoscan
