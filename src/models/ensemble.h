#pragma once
// Several networks as one classifier whose output is the
// mean of the members' class probabilities (returned as log-probabilities, so
// softmax of the "logits" gives the mean back and every consumer of a
// Classifier works unchanged). The members' last feature maps are concatenated
// along the channels: Grad-CAM over the ensemble sums the members' evidence,
// and an embedding is the members' embeddings side by side.
#include <torch/nn/modules/container/modulelist.h>

#include <vector>

#include "models/classifier.h"

namespace pneumoscan {

// What a member whose input normalisation differs from the ensemble's does to
// the ensemble's input before its own layers: channel c of its input is
// channel min(c, C-1) of the ensemble's times scale[c] plus shift[c] (exact for
// two fixed normalisations of the same gray pixels; model_file/ensemble.h
// derives it). Empty = the ensemble's input unchanged.
struct InputAdapter {
  std::vector<float> scale, shift;  // one per channel of the member's input

  bool identity() const { return scale.empty(); }
  int64_t channels() const { return static_cast<int64_t>(scale.size()); }
  torch::Tensor apply(const torch::Tensor& images) const;
};

class EnsembleImpl : public ClassifierImpl {
 public:
  // Members must accept the input [N, in_channels, input_size, input_size]
  // (after their adapter, when `adapters` gives one per member; empty = none)
  // and give feature maps of the same spatial size and logits of the same width
  // (checked here with one forward pass; UsageError otherwise). Members are
  // registered as "members.<i>.<their names>"; adapters hold no weights.
  EnsembleImpl(std::vector<Classifier> members, int64_t in_channels, int64_t input_size,
               std::vector<InputAdapter> adapters = {});

  torch::Tensor forward_features(torch::Tensor images) override;
  // Mean class probabilities [N, K] as log-probabilities (K = 2 for sigmoid members).
  torch::Tensor forward_head(torch::Tensor features) override;
  std::vector<torch::Tensor> head_parameters() override;

  size_t size() const { return members_.size(); }
  // Member i as a network of the ensemble's input: the member itself, or a
  // view that applies its adapter first (it shares the member's weights and
  // reports the member's compute type).
  ClassifierImpl& member(size_t i);
  // Member i's own network, which takes its own input (no adapter).
  const Classifier& member_network(size_t i) const { return members_.at(i); }
  const InputAdapter& adapter(size_t i) const { return adapters_.at(i); }
  // Per-member class probabilities [M, N, K] for a feature map of forward_features.
  torch::Tensor member_probabilities(const torch::Tensor& features);

 private:
  std::vector<Classifier> members_;
  std::vector<InputAdapter> adapters_;
  std::vector<Classifier> views_;
  std::vector<int64_t> feature_channels_;
  torch::nn::ModuleList list_;
};
TORCH_MODULE(Ensemble);

// The state-dict prefix of member i ("members.i.").
std::string ensemble_member_prefix(size_t i);

// Member `index` (0-based) of `net`, which must be an Ensemble: its own
// network (taking the ensemble's input), whose outputs are the member's before
// the file's calibration.
// Throws UsageError when `net` is not an ensemble or has no such member.
ClassifierImpl& ensemble_member(ClassifierImpl& net, int64_t index);

}  // namespace pneumoscan
