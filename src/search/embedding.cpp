#include "search/embedding.h"

#include <torch/torch.h>

#include "models/ensemble.h"

namespace pneumoscan {

torch::Tensor embed_batch(ClassifierImpl& net, const torch::Tensor& input) {
  const EvalModeGuard eval_mode(net);
  torch::Tensor embeddings;
  {
    c10::InferenceMode inference;
    const torch::Tensor features = net.forward_features(net.prepare_input(input, input.device()));
    TORCH_CHECK(features.dim() == 4, "embedding: expected a 4-D feature map, got ", features.sizes());
    const torch::Tensor pooled = features.to(torch::kFloat32).mean({2, 3}).to(torch::kCPU);
    embeddings =
        torch::nn::functional::normalize(pooled, torch::nn::functional::NormalizeFuncOptions().dim(1))
            .contiguous();
  }
  return embeddings;
}

ClassifierImpl& embedding_network(Predictor& predictor, int64_t member) {
  return member < 0 ? predictor.net() : ensemble_member(predictor.net(), member);
}

torch::Tensor embed_images(Predictor& predictor, const std::vector<Image>& images, int64_t member) {
  return embed_batch(embedding_network(predictor, member), predictor.input_batch(images));
}

DatasetEmbeddings embed_dataset(Predictor& predictor, const std::vector<Sample>& samples,
                                const EmbedOptions& embed, const StageProgress& progress) {
  ClassifierImpl& net = embedding_network(predictor, embed.member);  // a bad member fails before decoding
  ImageCache::Progress decoded;
  if (progress) decoded = [&](size_t done, size_t total) { progress("decode", done, total); };
  const ImageCache cache(samples, predictor.metadata().preprocess, embed.threads, decoded);
  DatasetEmbeddings result;
  result.samples = cache.samples();
  result.failures = cache.failures();
  std::vector<torch::Tensor> parts;
  BatchOptions options;
  options.batch_size = embed.batch_size;
  BatchStream stream(cache, options, 0);
  size_t embedded = 0;
  while (auto batch = stream.next()) {
    parts.push_back(embed_batch(net, predictor.prepare_input(batch->images)));
    embedded += static_cast<size_t>(batch->images.size(0));
    if (progress) progress("embed", embedded, cache.size());
  }
  result.embeddings = parts.empty() ? torch::empty({0, 0}) : torch::cat(parts);
  return result;
}

}  // namespace pneumoscan
