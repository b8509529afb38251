#pragma once
// `train --arch latent-cnn --codes CODES`: the latent CNN (models/latent_cnn.h)
// trained on precomputed autoencoder codes, as the seed study did, with the
// classifier trainer's rules: class-weighted loss, config.optimizer,
// reduce-LR-on-plateau, early stopping, best epoch by validation loss, a
// checkpoint and epoch logs after every epoch, --resume, and the threshold
// for the target sensitivity on validation. The model file holds the
// autoencoder's encoder and the latent CNN, with the encoder's preprocessing,
// so it runs on images wherever a model file is used. No augmentation (the
// codes are fixed).
#include <string>
#include <vector>

#include "generative/codes.h"
#include "model_file/generative_file.h"
#include "train/trainer.h"

namespace pneumoscan {

// `train`/`val`: the split (every sample must have a code in `codes`, matched
// by path). `autoencoder`: the encoder the codes came from (its fingerprint
// must match, else ModelFileError naming `codes_path`). config.spec must be
// latent-cnn; its input size, channels and preprocessing are the encoder's.
// Throws UsageError/ModelFileError/InputError with a clear message.
TrainResult train_latent_model(const std::vector<Sample>& train, const std::vector<Sample>& val,
                               const CodeSet& codes, const std::string& codes_path,
                               LoadedAutoencoder& autoencoder, const std::string& autoencoder_path,
                               const TrainConfig& config, const std::string& model_path, bool resume = false,
                               TrainObserver* observer = nullptr);

}  // namespace pneumoscan
