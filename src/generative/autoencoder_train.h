#pragma once
// Training the autoencoder (models/autoencoder.h) on X-rays: Adam on the MSE
// between [0, 1] pixels and their reconstruction (plus ssim_weight x
// (1 - SSIM) when set: structure, where MSE alone blurs), validation MSE and
// SSIM after every epoch, the best epoch's weights kept (by validation MSE,
// so runs with and without SSIM are selected alike), a checkpoint
// (MODEL.ckpt) and the epoch logs (MODEL.log.csv/.jsonl: train_loss and
// val_loss are the MSEs) after every epoch, --resume from the checkpoint.
// Labels are not used. Events go to a GenerativeObserver: figures train_loss,
// val_mse, val_ssim, learning_rate, images_per_second, seconds; picture
// "reconstructions" (fixed validation images: original | reconstruction | error).
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data/sample.h"
#include "generative/observer.h"
#include "models/autoencoder.h"

namespace pneumoscan {

struct AutoencoderTrainConfig {
  AutoencoderOptions network;
  int epochs = 10;
  int batch_size = 32;
  double learning_rate = 1e-3;
  double ssim_weight = 0;  // loss = MSE + ssim_weight * (1 - SSIM) (models/losses.h)
  uint64_t seed = 42;
  int loader_threads = 0;  // 0 = one per core
  int pictures = 4;        // fixed validation images in the per-epoch picture
  std::string name = "pneumoscan-autoencoder";
  nlohmann::json data_summary = nlohmann::json::object();
};

struct AutoencoderTrainResult {
  std::vector<EpochRecord> history;
  int best_epoch = 0;
  double best_val_mse = 0;
  double best_val_ssim = 0;  // of the best epoch
  double seconds = 0;        // the epochs' wall time (decoding excluded)
};

// Throws UsageError for non-positive epochs, batch size or learning rate, a negative SSIM weight, or empty
// data; ModelFileError/UsageError from a checkpoint that does not fit when resuming.
AutoencoderTrainResult train_autoencoder(const std::vector<Sample>& train, const std::vector<Sample>& val,
                                         const AutoencoderTrainConfig& config, const std::string& model_path,
                                         bool resume = false, GenerativeObserver* observer = nullptr);

// The settings a resumed run must share with the checkpoint (also stored in the model file).
nlohmann::json to_json(const AutoencoderTrainConfig& config);

}  // namespace pneumoscan
