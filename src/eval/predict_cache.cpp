#include "eval/predict_cache.h"

#include <torch/torch.h>

#include "models/output.h"
#include "train/losses.h"

namespace pneumoscan {

CachePredictions predict_cache(ClassifierImpl& net, const ImageCache& cache, int batch_size,
                               const std::optional<std::array<double, 2>>& class_weights, c10::Device device,
                               bool channels_last) {
  torch::NoGradGuard no_grad;
  const EvalModeGuard eval_mode(net);
  CachePredictions result;
  result.labels = cache.labels();
  result.probabilities.reserve(cache.size());
  BatchOptions options;
  options.batch_size = batch_size;
  options.channels_last = channels_last;
  BatchStream stream(cache, options, 0);
  double weighted_loss_sum = 0, weight_sum = 0;
  while (auto batch = stream.next()) {
    const torch::Tensor logits = net.forward(batch->images.to(device)).to(torch::kCPU);
    const torch::Tensor probability = pneumonia_probability(logits).contiguous();
    const float* p = probability.data_ptr<float>();
    result.probabilities.insert(result.probabilities.end(), p, p + probability.numel());
    if (class_weights) {
      const auto& w = *class_weights;
      double batch_weight = 0;
      for (int64_t i = 0; i < batch->labels.size(0); ++i) batch_weight += w[batch->labels[i].item<int64_t>()];
      weighted_loss_sum += weighted_loss(logits, batch->labels, w).item<double>() * batch_weight;
      weight_sum += batch_weight;
    }
  }
  if (weight_sum > 0) result.loss = weighted_loss_sum / weight_sum;
  return result;
}

}  // namespace pneumoscan
