#include "eval/predict_cache.h"

#include <torch/torch.h>

#include "models/losses.h"
#include "models/output.h"

namespace pneumoscan {

CachePredictions predict_cache(ClassifierImpl& net, const ImageCache& cache, int batch_size,
                               const std::optional<std::vector<double>>& class_weights, c10::Device device,
                               bool channels_last) {
  torch::NoGradGuard no_grad;
  const EvalModeGuard eval_mode(net);
  CachePredictions result;
  result.class_labels = cache.labels();
  for (int label : result.class_labels) result.labels.push_back(label > 0 ? 1 : 0);
  result.probabilities.reserve(cache.size());
  BatchOptions options;
  options.batch_size = batch_size;
  options.channels_last = channels_last;
  BatchStream stream(cache, options, 0);
  double weighted_loss_sum = 0, weight_sum = 0;
  while (auto batch = stream.next()) {
    const torch::Tensor logits = net.forward(batch->images.to(device, net.compute_type())).to(torch::kCPU);
    const torch::Tensor probability = pneumonia_probability(logits).contiguous();
    const float* p = probability.data_ptr<float>();
    result.probabilities.insert(result.probabilities.end(), p, p + probability.numel());
    const torch::Tensor raw = logits.to(torch::kFloat32).contiguous();
    result.logit_width = static_cast<int>(raw.size(1));
    result.logits.insert(result.logits.end(), raw.data_ptr<float>(), raw.data_ptr<float>() + raw.numel());
    const torch::Tensor classes = class_probabilities(logits).contiguous();
    result.num_classes = static_cast<int>(classes.size(1));
    const float* c = classes.data_ptr<float>();
    result.class_probabilities.insert(result.class_probabilities.end(), c, c + classes.numel());
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
