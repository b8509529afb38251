#include "models/ensemble.h"

#include <torch/torch.h>

#include "core/errors.h"
#include "models/output.h"

namespace pneumoscan {

std::string ensemble_member_prefix(size_t i) { return "members." + std::to_string(i) + "."; }

ClassifierImpl& ensemble_member(ClassifierImpl& net, int64_t index) {
  auto* ensemble = dynamic_cast<EnsembleImpl*>(&net);
  if (ensemble == nullptr)
    throw UsageError("the model is a single network, not an ensemble: it has no members");
  if (index < 0 || index >= static_cast<int64_t>(ensemble->size()))
    throw UsageError("the ensemble has no member " + std::to_string(index) + " (members 0-" +
                     std::to_string(ensemble->size() - 1) + ")");
  return ensemble->member(static_cast<size_t>(index));
}

EnsembleImpl::EnsembleImpl(std::vector<Classifier> members, int64_t in_channels, int64_t input_size)
    : members_(std::move(members)) {
  if (members_.size() < 2) throw UsageError("an ensemble needs at least two members");
  list_ = register_module("members", torch::nn::ModuleList());
  for (auto& member : members_) list_->push_back(member);
  torch::NoGradGuard no_grad;
  const EvalModeGuard eval_mode(*this);
  const torch::Tensor probe = torch::zeros({1, in_channels, input_size, input_size});
  std::vector<int64_t> spatial, outputs;
  for (auto& member : members_) {
    const torch::Tensor features = member->forward_features(probe);
    const torch::Tensor logits = member->forward_head(features);
    if (!feature_channels_.empty() &&
        (features.sizes().slice(2) != c10::IntArrayRef(spatial) || logits.size(1) != outputs.front()))
      throw UsageError("ensemble members differ in feature map size or outputs");
    spatial = features.sizes().slice(2).vec();
    outputs.push_back(logits.size(1));
    feature_channels_.push_back(features.size(1));
  }
}

torch::Tensor EnsembleImpl::forward_features(torch::Tensor images) {
  std::vector<torch::Tensor> features;
  for (auto& member : members_) features.push_back(member->forward_features(images));
  return torch::cat(features, 1);
}

torch::Tensor EnsembleImpl::member_probabilities(const torch::Tensor& features) {
  TORCH_CHECK(features.dim() == 4, "Ensemble: expected features [N, C, h, w], got ", features.sizes());
  const std::vector<torch::Tensor> parts = features.split_with_sizes(feature_channels_, 1);
  std::vector<torch::Tensor> probabilities;
  for (size_t i = 0; i < members_.size(); ++i)
    probabilities.push_back(class_probabilities(members_[i]->forward_head(parts[i])));
  return torch::stack(probabilities, 0);
}

torch::Tensor EnsembleImpl::forward_head(torch::Tensor features) {
  return member_probabilities(features).mean(0).clamp_min(1e-12).log();
}

std::vector<torch::Tensor> EnsembleImpl::head_parameters() {
  std::vector<torch::Tensor> parameters;
  for (auto& member : members_)
    for (auto& p : member->head_parameters()) parameters.push_back(p);
  return parameters;
}

}  // namespace pneumoscan
