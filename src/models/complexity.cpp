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

// Multiply-adds of a counted operator, known at its start: per output element, or in all (a
// transposed convolution, whose work follows its input: every input element meets the whole kernel).
struct CountContext : at::ObserverContext {
  int64_t per_output = 0;
  int64_t total = -1;  // >= 0: the operator's whole count
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

// aten::convolution(input, weight, bias, stride, padding, dilation, transposed, ...) with transposed set:
// input elements x (out/groups x kernel area), the product of the weight's [in, out/groups, kh, kw] tail.
int64_t transposed_convolution_total(const at::RecordFunction& fn, int64_t per_weight) {
  const char* name = fn.name();
  if (std::strcmp(name, "aten::convolution") != 0 && std::strcmp(name, "aten::_convolution") != 0) return -1;
  const auto inputs = fn.inputs();
  if (inputs.size() < 7 || !inputs[6].isBool() || !inputs[6].toBool() || !inputs[0].isTensor()) return -1;
  return inputs[0].toTensor().numel() * per_weight;
}

std::unique_ptr<at::ObserverContext> on_start(const at::RecordFunction& fn) {
  const int64_t per = per_output_element(fn);
  if (per < 0) return nullptr;
  auto context = std::make_unique<CountContext>();
  context->per_output = per;
  context->total = transposed_convolution_total(fn, per);
  context->outermost = counted_depth == 0;
  ++counted_depth;
  return context;
}

void on_end(const at::RecordFunction& fn, at::ObserverContext* context_base) {
  auto* context = static_cast<CountContext*>(context_base);
  if (context == nullptr) return;
  --counted_depth;
  if (!context->outermost) return;
  if (context->total >= 0) {
    counted_multiply_adds += context->total;
    return;
  }
  for (const auto& output : fn.outputs())
    if (output.isTensor()) counted_multiply_adds += output.toTensor().numel() * context->per_output;
}

torch::Tensor probe_input(torch::nn::Module& net, int64_t in_channels, int64_t input_size) {
  const auto parameters = net.parameters();
  const auto options = parameters.empty() ? torch::TensorOptions() : parameters.front().options();
  return torch::rand({1, in_channels, input_size, input_size}, options.requires_grad(false));
}

}  // namespace

int64_t count_multiply_adds(torch::nn::Module& net, const std::function<void()>& run) {
  EvalModeGuard eval(net);
  torch::NoGradGuard no_grad;
  counted_multiply_adds = 0;
  counted_depth = 0;
  const at::CallbackHandle handle = at::addThreadLocalCallback(
      at::RecordFunctionCallback(&on_start, &on_end).needsInputs(true).needsOutputs(true));
  try {
    run();
  } catch (...) {
    at::removeCallback(handle);
    throw;
  }
  at::removeCallback(handle);
  return counted_multiply_adds;
}

int64_t count_multiply_adds(ClassifierImpl& net, int64_t in_channels, int64_t input_size) {
  const torch::Tensor input = probe_input(net, in_channels, input_size);
  return count_multiply_adds(net, [&] { net.forward(input); });
}

double measure_forward_seconds(torch::nn::Module& net, const std::function<void()>& run, int runs) {
  EvalModeGuard eval(net);
  torch::NoGradGuard no_grad;
  run();  // warm-up: first-call allocations and kernel selection
  std::vector<double> seconds;
  for (int i = 0; i < std::max(1, runs); ++i) {
    const Stopwatch stopwatch;
    run();
    seconds.push_back(stopwatch.seconds());
  }
  std::nth_element(seconds.begin(), seconds.begin() + seconds.size() / 2, seconds.end());
  return seconds[seconds.size() / 2];
}

double measure_forward_seconds(ClassifierImpl& net, int64_t in_channels, int64_t input_size, int runs) {
  const torch::Tensor input = probe_input(net, in_channels, input_size);
  return measure_forward_seconds(
      net, [&] { net.forward(input); }, runs);
}

}  // namespace pneumoscan
