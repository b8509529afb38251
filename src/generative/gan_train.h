#pragma once
// Training a DCGAN (models/dcgan.h) on the X-rays of one class: images at the
// generator's size in [-1, 1], Adam (lr 2e-4, beta1 0.5, the paper's), a
// discriminator step on real and generated batches (BCE with logits,
// optional one-sided label smoothing of the real targets) then a generator
// step (non-saturating loss), every batch. After every epoch: a grid of the
// generator's images for a fixed noise batch (eval mode, as `gan sample`
// draws) written to MODEL.samples/epoch-NNN.png, the generator file written
// (the last epoch's: a GAN has no validation loss to select on), a
// checkpoint (MODEL.ckpt: both networks and optimisers) and MODEL.log.jsonl.
// Events: figures d_loss, g_loss, d_real (mean D(x)), d_fake (mean D(G(z))),
// images_per_second, seconds; picture "samples".
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data/sample.h"
#include "generative/observer.h"
#include "models/dcgan.h"

namespace pneumoscan {

struct GanTrainConfig {
  DcganOptions network;
  int label = kPneumonia;  // the class learnt
  int epochs = 25;
  int batch_size = 64;
  double learning_rate = 2e-4;
  double beta1 = 0.5;
  double real_label = 1.0;  // < 1: one-sided label smoothing (e.g. 0.9)
  uint64_t seed = 42;
  int grid_images = 64;  // fixed-noise images in the per-epoch grid
  int loader_threads = 0;
  std::string name = "pneumoscan-dcgan";
  nlohmann::json data_summary = nlohmann::json::object();
};

struct GanTrainResult {
  std::vector<nlohmann::json> history;  // one object of figures per epoch
  std::vector<std::string> grids;       // the grid PNG files written
  double seconds = 0;
  size_t images = 0;  // training images of the class
};

// The folder of the per-epoch grids next to a generator path: MODEL.samples.
std::string sample_grid_dir(const std::string& model_path);

// `samples`: any labelled samples; only those of config.label are used.
// Throws UsageError for bad settings or no images of the class.
GanTrainResult train_gan(const std::vector<Sample>& samples, const GanTrainConfig& config,
                         const std::string& model_path, bool resume = false,
                         GenerativeObserver* observer = nullptr);

nlohmann::json to_json(const GanTrainConfig& config);

}  // namespace pneumoscan
