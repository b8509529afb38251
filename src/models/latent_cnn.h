#pragma once
// The seed study's classifier on autoencoder codes, as one network that runs
// on images: the autoencoder's encoder (models/autoencoder.h, frozen: its
// weights come from the autoencoder file) followed by a small CNN on the
// 256 x 14 x 14 codes: Conv(256->128)-BN-ReLU, max-pool 2, Conv(128->128)-BN-ReLU,
// global average pool, dropout, linear. Trained on precomputed codes
// (generative/latent_train.h); saved as one model file (architecture
// "latent-cnn"), so predict, evaluate and serve use it like any classifier.
#include <torch/nn/modules/container/sequential.h>

#include <vector>

#include "models/autoencoder.h"
#include "models/classifier.h"

namespace pneumoscan {

struct LatentCnnOptions {
  int64_t input_size = 224;
  int64_t in_channels = 1;
  int64_t num_outputs = 1;
  int64_t width = 128;
  double dropout = 0.3;
};

// The autoencoder options whose encoder the latent CNN carries.
AutoencoderOptions encoder_options(const LatentCnnOptions& options);

class LatentCnnImpl : public ClassifierImpl {
 public:
  explicit LatentCnnImpl(const LatentCnnOptions& options = {});
  // Images -> encoder -> the latent convolutions' map [N, width, S/32, S/32].
  torch::Tensor forward_features(torch::Tensor images) override;
  // Codes (the encoder's output) -> the latent convolutions' map.
  torch::Tensor code_features(const torch::Tensor& codes);
  torch::Tensor forward_head(torch::Tensor features) override;
  std::vector<torch::Tensor> head_parameters() override;

  const LatentCnnOptions options;
  torch::nn::Sequential encoder{nullptr};
  torch::nn::Sequential latent{nullptr};
  torch::nn::Sequential classifier{nullptr};
};

// The latent part alone as a classifier whose input is codes (it shares the
// modules of `net`): what training on codes optimises, steps and checkpoints.
class CodeClassifierImpl : public ClassifierImpl {
 public:
  explicit CodeClassifierImpl(std::shared_ptr<LatentCnnImpl> net);
  torch::Tensor forward_features(torch::Tensor codes) override { return net_->code_features(codes); }
  torch::Tensor forward_head(torch::Tensor features) override { return net_->forward_head(features); }
  std::vector<torch::Tensor> head_parameters() override { return net_->head_parameters(); }

 private:
  std::shared_ptr<LatentCnnImpl> net_;
};

}  // namespace pneumoscan
