#include "search/embedding.h"

#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include "core/hash.h"

namespace pneumoscan {

torch::Tensor embed_batch(ClassifierImpl& net, const torch::Tensor& input) {
  const EvalModeGuard eval_mode(net);
  torch::Tensor embeddings;
  {
    c10::InferenceMode inference;
    const torch::Tensor features = net.forward_features(input);
    TORCH_CHECK(features.dim() == 4, "embedding: expected a 4-D feature map, got ", features.sizes());
    const torch::Tensor pooled = features.mean({2, 3}).to(torch::kCPU, torch::kFloat32);
    embeddings =
        torch::nn::functional::normalize(pooled, torch::nn::functional::NormalizeFuncOptions().dim(1))
            .contiguous();
  }
  return embeddings;
}

torch::Tensor embed_images(Predictor& predictor, const std::vector<Image>& images) {
  return embed_batch(predictor.net(), predictor.input_batch(images));
}

DatasetEmbeddings embed_dataset(Predictor& predictor, const std::vector<Sample>& samples, int batch_size,
                                int threads) {
  const ImageCache cache(samples, predictor.metadata().preprocess, threads);
  DatasetEmbeddings result;
  result.samples = cache.samples();
  result.failures = cache.failures();
  std::vector<torch::Tensor> parts;
  BatchOptions options;
  options.batch_size = batch_size;
  BatchStream stream(cache, options, 0);
  const c10::Device device = predictor.net().parameters().front().device();
  while (auto batch = stream.next()) parts.push_back(embed_batch(predictor.net(), batch->images.to(device)));
  result.embeddings = parts.empty() ? torch::empty({0, 0}) : torch::cat(parts);
  return result;
}

std::string model_fingerprint(const ModelMetadata& metadata, torch::nn::Module& net) {
  const nlohmann::json described = {{"architecture", metadata.spec.architecture},
                                    {"input_size", metadata.spec.input_size},
                                    {"in_channels", metadata.spec.in_channels},
                                    {"num_outputs", metadata.spec.num_outputs},
                                    {"preprocess", to_json(metadata.preprocess)}};
  const std::string text = described.dump();
  uint64_t hash = fnv1a64(text.data(), text.size());
  for (const auto& [name, tensor] : state_dict(net)) {
    hash = fnv1a64(name.data(), name.size(), hash);
    // The standard layout and float32, so that channels-last copies on the
    // CPU or a GPU hash the same as the file's weights.
    const torch::Tensor values = tensor.detach().to(torch::kCPU, torch::kFloat32).contiguous();
    for (int64_t size : values.sizes()) hash = fnv1a64(&size, sizeof size, hash);
    hash = fnv1a64(values.data_ptr<float>(), values.numel() * sizeof(float), hash);
  }
  return hex64(hash);
}

}  // namespace pneumoscan
