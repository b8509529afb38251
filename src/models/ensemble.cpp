#include "models/ensemble.h"

#include <torch/torch.h>

#include "core/errors.h"
#include "models/output.h"

namespace pneumoscan {
namespace {

// A member seen from the ensemble's input: its adapter, then its own layers.
// It holds the member without registering it, so the member's weights keep
// their one name in the ensemble ("members.<i>.").
class AdaptedMemberImpl : public ClassifierImpl {
 public:
  AdaptedMemberImpl(Classifier member, InputAdapter adapter)
      : member_(std::move(member)), adapter_(std::move(adapter)) {
    Module::train(member_->is_training());
  }
  torch::Tensor forward_features(torch::Tensor images) override {
    return member_->forward_features(adapter_.apply(images.to(member_->compute_type())));
  }
  torch::Tensor forward_head(torch::Tensor features) override { return member_->forward_head(features); }
  std::vector<torch::Tensor> head_parameters() override { return member_->head_parameters(); }
  void train(bool on) override {
    Module::train(on);
    member_->train(on);
  }

 private:
  Classifier member_;
  InputAdapter adapter_;
};

}  // namespace

torch::Tensor InputAdapter::apply(const torch::Tensor& images) const {
  if (identity()) return images;
  TORCH_CHECK(images.dim() == 4 && images.size(1) >= 1, "InputAdapter: expected images [N, C, H, W], got ",
              images.sizes());
  TORCH_CHECK(shift.size() == scale.size(), "InputAdapter: ", scale.size(), " scales but ", shift.size(),
              " shifts");
  std::vector<torch::Tensor> channels;
  for (int64_t c = 0; c < this->channels(); ++c) {
    const torch::Tensor source = images.select(1, std::min(c, images.size(1) - 1));
    channels.push_back(source * scale[static_cast<size_t>(c)] + shift[static_cast<size_t>(c)]);
  }
  return torch::stack(channels, 1).contiguous(images.suggest_memory_format());
}

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

EnsembleImpl::EnsembleImpl(std::vector<Classifier> members, int64_t in_channels, int64_t input_size,
                           std::vector<InputAdapter> adapters)
    : members_(std::move(members)), adapters_(std::move(adapters)) {
  if (members_.size() < 2) throw UsageError("an ensemble needs at least two members");
  if (adapters_.empty()) adapters_.resize(members_.size());
  if (adapters_.size() != members_.size())
    throw UsageError("an ensemble needs one input adapter per member (" + std::to_string(members_.size()) +
                     "), not " + std::to_string(adapters_.size()));
  list_ = register_module("members", torch::nn::ModuleList());
  for (size_t i = 0; i < members_.size(); ++i) {
    list_->push_back(members_[i]);
    views_.push_back(adapters_[i].identity()
                         ? members_[i]
                         : std::make_shared<AdaptedMemberImpl>(members_[i], adapters_[i]));
  }
  torch::NoGradGuard no_grad;
  const EvalModeGuard eval_mode(*this);
  const torch::Tensor probe = torch::zeros({1, in_channels, input_size, input_size});
  std::vector<int64_t> spatial, outputs;
  for (auto& member : views_) {
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

ClassifierImpl& EnsembleImpl::member(size_t i) {
  ClassifierImpl& view = *views_.at(i);
  // A view is not a registered module, so set_compute_type on the ensemble
  // does not reach it; it has no weights, so following its member is only
  // its reported type (and prepare_input's).
  if (view.compute_type() != members_[i]->compute_type()) view.set_compute_type(members_[i]->compute_type());
  return view;
}

torch::Tensor EnsembleImpl::forward_features(torch::Tensor images) {
  std::vector<torch::Tensor> features;
  for (auto& member : views_) features.push_back(member->forward_features(images));
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
