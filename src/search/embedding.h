#pragma once
// Image embeddings for similar-case search: the classifier's last feature map
// (ClassifierImpl::forward_features), global-average-pooled and L2-normalised,
// so that the inner product of two embeddings is their cosine similarity.
// Computed without gradients, with the model file's own preprocessing.
#include <torch/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "data/loader.h"
#include "image/image.h"
#include "infer/predictor.h"
#include "model_file/fingerprint.h"
#include "model_file/model_file.h"

namespace pneumoscan {

// [N, C, H, W] preprocessed batch -> [N, D] float32 unit vectors on the CPU.
// Runs in eval mode under InferenceMode; the network's mode is restored.
torch::Tensor embed_batch(ClassifierImpl& net, const torch::Tensor& input);

// The network whose features are embedded: the predictor's model for member
// -1, else that member of its ensemble (models/ensemble.h; throws UsageError
// when the model is no ensemble or has no such member).
ClassifierImpl& embedding_network(Predictor& predictor, int64_t member);

// Embeddings of decoded images, with the predictor's model (or `member` of
// it) and the model file's preprocessing.
torch::Tensor embed_images(Predictor& predictor, const std::vector<Image>& images, int64_t member = -1);

struct DatasetEmbeddings {
  std::vector<Sample> samples;        // the images that decoded, in data set order
  torch::Tensor embeddings;           // [samples.size(), D]
  std::vector<std::string> failures;  // "path: problem" for images left out
};

// Decodes every sample in parallel (ImageCache: the training loader's
// decoding and resizing) and embeds them in batches of `options.batch_size`.
// `progress(stage, done, total)`, when set, counts images: stage "decode"
// (from worker threads, serialised), then "embed".
using StageProgress = std::function<void(const std::string& stage, size_t done, size_t total)>;
struct EmbedOptions {
  int batch_size = 64;
  int threads = 0;      // decoding threads; 0: the machine's
  int64_t member = -1;  // as embed_images'
};
DatasetEmbeddings embed_dataset(Predictor& predictor, const std::vector<Sample>& samples,
                                const EmbedOptions& options = {}, const StageProgress& progress = {});

}  // namespace pneumoscan
