#pragma once
// Restores an optimiser's per-parameter state from a checkpoint read as data
// (models/torch_archive.h), in place of torch::optim::Optimizer::load: that
// needs an InputArchive, which LibTorch only makes by compiling the
// TorchScript code the file carries, and it takes the saved tensors as they
// come (any shape, any device), so a damaged checkpoint failed later inside
// the optimiser's step. Reads what Optimizer::save writes (the "1.5.0"
// layout of LibTorch 1.5 to 2.x): "state" (per parameter, keyed by the
// parameter's address when saved) and "param_groups" (each group's keys in
// parameter order).
#include <ATen/core/ivalue.h>
#include <torch/optim/optimizer.h>

#include <string>

namespace pneumoscan {

// Gives each parameter of `optimizer` (Adam, AdamW or SGD) the state saved for
// the parameter at the same place in the same group: each tensor the
// parameter's shape and dtype, copied to its device; parameters with no saved
// state start fresh, as they would in LibTorch. `saved` is the optimiser
// module as read_archive_value gives it. Options (learning rate...) are left as
// `optimizer` has them, as Optimizer::load leaves them. Throws
// ModelFileError(path, ...) naming what does not fit ("the optimizer state of
// parameter 3 of group 0 has shape [4, 2], the parameter [8]"), and
// UsageError for another optimiser type.
void restore_optimizer_state(const c10::IValue& saved, torch::optim::Optimizer& optimizer,
                             const std::string& path);

}  // namespace pneumoscan
