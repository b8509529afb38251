#pragma once
// Several networks of one architecture as one classifier whose output is the
// mean of the members' class probabilities (returned as log-probabilities, so
// softmax of the "logits" gives the mean back and every consumer of a
// Classifier works unchanged). The members' last feature maps are concatenated
// along the channels: Grad-CAM over the ensemble sums the members' evidence,
// and an embedding is the members' embeddings side by side.
#include <torch/nn/modules/container/modulelist.h>

#include <vector>

#include "models/classifier.h"

namespace pneumoscan {

class EnsembleImpl : public ClassifierImpl {
 public:
  // Members must accept the same input [N, in_channels, input_size, input_size]
  // and give feature maps of the same spatial size and logits of the same width
  // (checked here with one forward pass; UsageError otherwise). Members are
  // registered as "members.<i>.<their names>".
  EnsembleImpl(std::vector<Classifier> members, int64_t in_channels, int64_t input_size);

  torch::Tensor forward_features(torch::Tensor images) override;
  // Mean class probabilities [N, K] as log-probabilities (K = 2 for sigmoid members).
  torch::Tensor forward_head(torch::Tensor features) override;
  std::vector<torch::Tensor> head_parameters() override;

  size_t size() const { return members_.size(); }
  ClassifierImpl& member(size_t i) { return *members_.at(i); }
  // Per-member class probabilities [M, N, K] for a feature map of forward_features.
  torch::Tensor member_probabilities(const torch::Tensor& features);

 private:
  std::vector<Classifier> members_;
  std::vector<int64_t> feature_channels_;
  torch::nn::ModuleList list_;
};
TORCH_MODULE(Ensemble);

// The state-dict prefix of member i ("members.i.").
std::string ensemble_member_prefix(size_t i);

// Member `index` (0-based) of `net`, which must be an Ensemble: its own
// network, whose outputs are the member's before the file's calibration.
// Throws UsageError when `net` is not an ensemble or has no such member.
ClassifierImpl& ensemble_member(ClassifierImpl& net, int64_t index);

}  // namespace pneumoscan
