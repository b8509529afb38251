#include "models/pretrained.h"

#include <ATen/core/Dict.h>
#include <torch/csrc/jit/serialization/pickle.h>
#include <torch/nn/modules/batchnorm.h>

#include <fstream>
#include <iterator>
#include <map>
#include <sstream>

#include "core/atomic_file.h"
#include "core/errors.h"
#include "core/text.h"
#include "models/state_dict.h"
#include "models/torch_archive.h"

namespace pneumoscan {
namespace {

// The first line of an exception message (LibTorch appends backtraces).
std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

void append_names(std::ostringstream& out, const char* what, const std::vector<std::string>& names) {
  for (const auto& name : names) out << "\n  " << what << ": " << name;
}

}  // namespace

std::vector<std::pair<std::string, torch::Tensor>> read_state_dict_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw ModelFileError(path, "cannot open pretrained weights");
  if (in.tellg() == 0) throw ModelFileError(path, "empty file, not a state dict saved with torch.save");
  // Read from the file as data (torch::pickle_load's in-memory reader read
  // before its buffer on a mutated archive: fuzz/fuzz_state_dict).
  const c10::IValue value = read_archive_value(path, "pretrained weights file",
                                               "not a state dict saved with torch.save (unreadable archive)");
  if (!value.isGenericDict())
    throw ModelFileError(path,
                         std::string("holds a ") + value.tagKind() + ", not a dict of tensors (state dict)");
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  for (const auto& entry : value.toGenericDict()) {
    if (!entry.key().isString() || !entry.value().isTensor())
      throw ModelFileError(path, "not a dict of name -> tensor (state dict): entry " +
                                     (entry.key().isString() ? quoted_excerpt(entry.key().toStringRef())
                                                             : std::string("with a non-string key")) +
                                     " is a " + entry.value().tagKind());
    tensors.emplace_back(entry.key().toStringRef(), entry.value().toTensor());
  }
  return tensors;
}

ImportReport import_pretrained(ClassifierImpl& net, const std::string& path) {
  const auto tensors = read_state_dict_file(path);
  std::map<std::string, torch::Tensor> given(tensors.begin(), tensors.end());

  // The stem: the network's first convolution weight in registration order.
  std::string stem;
  for (const auto& item : net.named_parameters())
    if (item.value().dim() == 4) {
      stem = item.key();
      break;
    }

  ImportReport report;
  torch::NoGradGuard no_grad;
  for (auto& [name, target] : state_dict(net)) {
    auto found = given.find(name);
    if (found == given.end()) {
      report.missing_in_file.push_back(name);
      continue;
    }
    // Half-precision files (the shared ResNet-50) and any other floating type
    // are cast to the network's type; an integer or boolean tensor where the
    // network holds real numbers means the file is not what it claims.
    if (target.is_floating_point() != found->second.is_floating_point())
      throw ModelFileError(path, "entry '" + name + "' holds " +
                                     std::string(c10::toString(found->second.scalar_type())) +
                                     " values where the network expects " +
                                     (target.is_floating_point() ? "floating-point" : "integer") + " ones");
    const torch::Tensor source = found->second.to(target.scalar_type());
    given.erase(found);
    if (source.sizes() == target.sizes()) {
      target.copy_(source);
      report.matched.push_back(name);
    } else if (name == stem && source.dim() == 4 && source.size(1) == 3 && target.size(1) == 1 &&
               source.size(0) == target.size(0) && source.size(2) == target.size(2) &&
               source.size(3) == target.size(3)) {
      // conv(x, w_r, w_g, w_b) on (x, x, x) = conv(x, w_r + w_g + w_b).
      target.copy_(source.sum(1, /*keepdim=*/true));
      report.adapted.push_back(name);
    } else {
      report.shape_mismatch.push_back(name);
    }
  }
  for (const auto& entry : given) report.unused_in_file.push_back(entry.first);
  if (report.matched.empty() && report.adapted.empty())
    throw ModelFileError(
        path, "shares no weight (name and shape) with the network; is it for another architecture?");
  return report;
}

std::string format(const ImportReport& r) {
  std::ostringstream out;
  out << "pretrained weights: " << r.matched.size() << " matched, " << r.adapted.size()
      << " adapted (RGB stem summed to 1 channel), " << r.shape_mismatch.size()
      << " shape mismatch (left initialised), " << r.missing_in_file.size() << " missing in file, "
      << r.unused_in_file.size() << " unused in file";
  append_names(out, "adapted", r.adapted);
  append_names(out, "shape mismatch", r.shape_mismatch);
  append_names(out, "missing in file", r.missing_in_file);
  append_names(out, "unused in file", r.unused_in_file);
  return out.str();
}

void freeze_features(ClassifierImpl& net) {
  for (auto& p : net.parameters()) p.set_requires_grad(false);
  for (auto& p : net.head_parameters()) p.set_requires_grad(true);
}

void unfreeze_all(ClassifierImpl& net) {
  for (auto& p : net.parameters()) p.set_requires_grad(true);
}

std::vector<torch::Tensor> trainable_parameters(torch::nn::Module& net) {
  std::vector<torch::Tensor> trainable;
  for (auto& p : net.parameters())
    if (p.requires_grad()) trainable.push_back(p);
  return trainable;
}

void freeze_batchnorm_statistics(torch::nn::Module& net) {
  for (auto& module : net.modules(/*include_self=*/false))
    if (dynamic_cast<torch::nn::BatchNorm1dImpl*>(module.get()) ||
        dynamic_cast<torch::nn::BatchNorm2dImpl*>(module.get()) ||
        dynamic_cast<torch::nn::BatchNorm3dImpl*>(module.get()))
      module->eval();
}

size_t export_state_dict(torch::nn::Module& net, const std::string& path) {
  c10::Dict<std::string, at::Tensor> dict;
  for (auto& [name, tensor] : state_dict(net)) {
    torch::Tensor t = tensor.detach().to(torch::kCPU).contiguous().clone();
    if (t.is_floating_point()) t = t.to(torch::kFloat32);
    dict.insert(name, t);
  }
  std::vector<char> bytes;
  try {
    bytes = torch::jit::pickle_save(c10::IValue(dict));
  } catch (const std::exception& e) {
    throw IoError(path, "cannot serialise the state dict (" + first_line(e.what()) + ")");
  }
  write_file_atomically(path, std::string(bytes.begin(), bytes.end()));
  return dict.size();
}

}  // namespace pneumoscan
