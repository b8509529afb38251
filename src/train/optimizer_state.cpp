#include "train/optimizer_state.h"

#include <torch/optim/adam.h>
#include <torch/optim/adamw.h>
#include <torch/optim/sgd.h>

#include <memory>
#include <sstream>

#include "core/errors.h"
#include "models/torch_archive.h"

namespace pneumoscan {
namespace {

std::string shape_text(c10::IntArrayRef sizes) {
  std::ostringstream text;
  text << sizes;
  return text.str();
}

// Reads the saved state of one parameter; `where` names it for messages.
class SavedParameter {
 public:
  SavedParameter(const c10::IValue& state, const torch::Tensor& parameter, const std::string& path,
                 std::string where)
      : state_(state), parameter_(parameter), path_(path), where_(std::move(where)) {}

  // The tensor `key` (absent: undefined when optional), checked against the
  // parameter and copied to its device, so the optimiser's step owns it.
  torch::Tensor tensor(const std::string& key, bool optional = false) const {
    const c10::IValue value = archive_attribute(state_, key);
    if (value.isNone() && optional) return {};
    if (!value.isTensor()) fail("has no tensor '" + key + "'");
    const torch::Tensor t = value.toTensor();
    if (!t.defined() || t.device() != torch::kCPU) fail("has a damaged '" + key + "'");
    if (t.sizes() != parameter_.sizes())
      fail("'" + key + "' has shape " + shape_text(t.sizes()) + ", the parameter " +
           shape_text(parameter_.sizes()));
    if (t.scalar_type() != parameter_.scalar_type())
      fail("'" + key + "' has type " + std::string(c10::toString(t.scalar_type())) + ", the parameter " +
           std::string(c10::toString(parameter_.scalar_type())));
    return t.to(parameter_.options(), /*non_blocking=*/false, /*copy=*/true);
  }

  int64_t count(const std::string& key) const {
    const c10::IValue value = archive_attribute(state_, key);
    if (!value.isInt() || value.toInt() < 0) fail("has no step count");
    return value.toInt();
  }

 private:
  [[noreturn]] void fail(const std::string& problem) const {
    throw ModelFileError(path_, "damaged checkpoint: the optimizer state of " + where_ + " " + problem +
                                    "; train without --resume");
  }

  c10::IValue state_;
  torch::Tensor parameter_;
  const std::string& path_;
  std::string where_;
};

template <typename AdamState>
std::unique_ptr<torch::optim::OptimizerParamState> adam_state(const SavedParameter& saved) {
  auto state = std::make_unique<AdamState>();
  state->step(saved.count("step"));
  state->exp_avg(saved.tensor("exp_avg"));
  state->exp_avg_sq(saved.tensor("exp_avg_sq"));
  state->max_exp_avg_sq(saved.tensor("max_exp_avg_sq", /*optional=*/true));
  return state;
}

std::unique_ptr<torch::optim::OptimizerParamState> sgd_state(const SavedParameter& saved) {
  auto state = std::make_unique<torch::optim::SGDParamState>();
  state->momentum_buffer(saved.tensor("momentum_buffer", /*optional=*/true));
  return state;
}

int64_t saved_count(const c10::IValue& module, const std::string& key, const std::string& path) {
  const c10::IValue value = archive_attribute(module, key);
  if (!value.isTensor() || value.toTensor().numel() != 1 || value.toTensor().scalar_type() != torch::kInt64)
    throw ModelFileError(path, "damaged checkpoint: its optimizer state has no '" + key + "'");
  // read_archive_value has checked it lies in its record (an empty one made
  // item() throw from inside LibTorch: fuzz/fuzz_checkpoint).
  return value.toTensor().item<int64_t>();
}

}  // namespace

void restore_optimizer_state(const c10::IValue& saved, torch::optim::Optimizer& optimizer,
                             const std::string& path) {
  std::unique_ptr<torch::optim::OptimizerParamState> (*read_state)(const SavedParameter&) = nullptr;
  if (dynamic_cast<torch::optim::AdamW*>(&optimizer))
    read_state = &adam_state<torch::optim::AdamWParamState>;
  else if (dynamic_cast<torch::optim::Adam*>(&optimizer))
    read_state = &adam_state<torch::optim::AdamParamState>;
  else if (dynamic_cast<torch::optim::SGD*>(&optimizer))
    read_state = &sgd_state;
  else
    throw UsageError("restoring the state of this optimizer is not supported (Adam, AdamW and SGD are)");

  const c10::IValue version = archive_attribute(saved, "pytorch_version");
  if (!version.isString() || version.toStringRef() != "1.5.0")
    throw ModelFileError(path, "damaged checkpoint: its optimizer state is missing or in an unknown layout");
  const c10::IValue states = archive_attribute(saved, "state");
  const c10::IValue groups = archive_attribute(saved, "param_groups");
  auto& current_groups = optimizer.param_groups();
  const int64_t group_count = saved_count(groups, "param_groups/size", path);
  if (group_count != static_cast<int64_t>(current_groups.size()))
    throw ModelFileError(path, "checkpoint's optimizer has " + std::to_string(group_count) +
                                   " parameter groups, this run " + std::to_string(current_groups.size()) +
                                   "; train without --resume");
  // Parsed in full before the optimiser changes: a damaged entry leaves it as it was.
  std::vector<std::pair<std::string, std::unique_ptr<torch::optim::OptimizerParamState>>> restored;
  for (size_t g = 0; g < current_groups.size(); ++g) {
    const c10::IValue group = archive_attribute(groups, "param_groups/" + std::to_string(g));
    const std::vector<torch::Tensor>& params = current_groups[g].params();
    const int64_t param_count = saved_count(group, "params/size", path);
    if (param_count != static_cast<int64_t>(params.size()))
      throw ModelFileError(path, "checkpoint's optimizer has " + std::to_string(param_count) +
                                     " parameters in group " + std::to_string(g) + ", this run " +
                                     std::to_string(params.size()) + "; train without --resume");
    for (size_t i = 0; i < params.size(); ++i) {
      const c10::IValue key = archive_attribute(group, "params/" + std::to_string(i));
      if (!key.isString())
        throw ModelFileError(path, "damaged checkpoint: its optimizer state lacks parameter " +
                                       std::to_string(i) + " of group " + std::to_string(g));
      const c10::IValue state = archive_attribute(states, key.toStringRef());
      if (state.isNone()) continue;  // no step taken on it yet
      const SavedParameter saved_parameter(
          state, params[i], path, "parameter " + std::to_string(i) + " of group " + std::to_string(g));
      // LibTorch keys the state by the parameter's TensorImpl address.
      restored.emplace_back(c10::guts::to_string(params[i].unsafeGetTensorImpl()),
                            read_state(saved_parameter));
    }
  }
  for (auto& [key, state] : restored) optimizer.state()[key] = std::move(state);
}

}  // namespace pneumoscan
