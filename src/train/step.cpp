#include "train/step.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>

#include "models/losses.h"
#include "models/output.h"

namespace pneumoscan {

StepResult train_step(ClassifierImpl& net, torch::optim::Optimizer& optimizer, const torch::Tensor& images,
                      const torch::Tensor& labels, const std::vector<double>& class_weights,
                      double label_smoothing) {
  optimizer.zero_grad();
  const torch::Tensor logits = net.forward(images);
  const torch::Tensor loss = weighted_loss(logits, labels, class_weights, label_smoothing);
  StepResult result;
  result.loss = loss.item<double>();
  result.finite = std::isfinite(result.loss);
  result.logits = logits.detach();
  if (!result.finite) return result;
  loss.backward();
  optimizer.step();
  return result;
}

EpochTotals run_epoch(ClassifierImpl& net, torch::optim::Optimizer& optimizer, BatchStream& stream,
                      const std::vector<double>& class_weights, double label_smoothing,
                      const torch::Device& device, int epoch, double learning_rate, TrainObserver& observer) {
  double loss_sum = 0;
  int64_t seen = 0, correct = 0;
  size_t step = 0;
  while (auto batch = stream.next()) {
    const torch::Tensor images = batch->images.to(device);
    const torch::Tensor labels = batch->labels.to(device);
    const StepResult result = train_step(net, optimizer, images, labels, class_weights, label_smoothing);
    TORCH_CHECK(result.finite, "training diverged (loss is not finite) at epoch ", epoch,
                "; lower the learning rate");
    const int64_t n = labels.size(0);
    loss_sum += result.loss * n;
    seen += n;
    const torch::Tensor predicted = (pneumonia_probability(result.logits) >= 0.5).to(torch::kInt64);
    correct += predicted.eq(labels.gt(0).to(torch::kInt64)).sum().item<int64_t>();
    observer.on_step({epoch, ++step, stream.num_batches(), seen, loss_sum / seen, learning_rate});
  }
  EpochTotals totals;
  totals.images = seen;
  totals.mean_loss = loss_sum / std::max<int64_t>(seen, 1);
  totals.accuracy = static_cast<double>(correct) / std::max<int64_t>(seen, 1);
  return totals;
}

}  // namespace pneumoscan
