#include "train/step.h"

#include <ATen/autocast_mode.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "distributed/sync.h"
#include "models/losses.h"
#include "models/output.h"
#include "train/weight_average.h"

namespace pneumoscan {
namespace {

std::vector<torch::Tensor> optimized_parameters(torch::optim::Optimizer& optimizer) {
  std::vector<torch::Tensor> parameters;
  for (auto& group : optimizer.param_groups())
    for (const auto& p : group.params()) parameters.push_back(p);
  return parameters;
}

// The data-parallel backward pass: this rank's loss scaled to its share of
// the global batch's class weight, gradients averaged over the ranks. False
// (nothing done) when any rank's loss is not finite.
bool backward_over_ranks(const torch::Tensor& loss, bool finite, const torch::Tensor& labels,
                         const std::vector<double>& class_weights, torch::optim::Optimizer& optimizer,
                         Communicator& comm) {
  const double weight = torch::tensor(class_weights, torch::kFloat64)
                            .index_select(0, labels.to(torch::kCPU))
                            .sum()
                            .item<double>();
  const std::vector<double> totals = sum_over_ranks({weight, finite ? 0.0 : 1.0}, comm);
  if (totals[1] != 0) return false;
  (loss * (comm.world_size() * weight / totals[0])).backward();
  average_gradients(optimized_parameters(optimizer), comm);
  return true;
}

}  // namespace

AutocastGuard::AutocastGuard(Precision precision, const torch::Device& device) {
  if (precision == Precision::kFloat32) return;
  active_ = true;
  cuda_ = device.is_cuda();
  const c10::ScalarType type = scalar_type(precision);
  if (cuda_) {
    was_enabled_ = at::autocast::is_enabled();
    previous_type_ = at::autocast::get_autocast_gpu_dtype();
    at::autocast::set_autocast_gpu_dtype(type);
    at::autocast::set_enabled(true);
  } else {
    was_enabled_ = at::autocast::is_cpu_enabled();
    previous_type_ = at::autocast::get_autocast_cpu_dtype();
    at::autocast::set_autocast_cpu_dtype(type);
    at::autocast::set_cpu_enabled(true);
  }
  at::autocast::increment_nesting();
}

AutocastGuard::~AutocastGuard() {
  if (!active_) return;
  // The weights' bf16 copies are cached for one forward pass only.
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  if (cuda_) {
    at::autocast::set_enabled(was_enabled_);
    at::autocast::set_autocast_gpu_dtype(previous_type_);
  } else {
    at::autocast::set_cpu_enabled(was_enabled_);
    at::autocast::set_autocast_cpu_dtype(previous_type_);
  }
}

MixupDraw draw_mixup(double alpha, int64_t rows, std::mt19937_64& rng) {
  TORCH_CHECK(alpha > 0 && rows > 0, "mixup needs a positive alpha and rows");
  std::gamma_distribution<double> gamma(alpha, 1.0);
  const double a = gamma(rng), b = gamma(rng);
  MixupDraw draw;
  draw.lambda = a + b > 0 ? a / (a + b) : 0.5;  // Beta(alpha, alpha)
  draw.permutation.resize(static_cast<size_t>(rows));
  std::iota(draw.permutation.begin(), draw.permutation.end(), int64_t{0});
  std::shuffle(draw.permutation.begin(), draw.permutation.end(), rng);
  return draw;
}

StepResult train_step(ClassifierImpl& net, torch::optim::Optimizer& optimizer, const torch::Tensor& images,
                      const torch::Tensor& labels, const StepOptions& options) {
  const std::vector<double>& class_weights = options.class_weights;
  Communicator* comm = options.comm;
  optimizer.zero_grad();
  torch::Tensor logits, loss;
  {
    const AutocastGuard autocast(options.precision, images.device());
    if (options.mixup) {
      const MixupDraw& mix = *options.mixup;
      TORCH_CHECK(static_cast<int64_t>(mix.permutation.size()) == images.size(0), "mixup: a permutation of ",
                  mix.permutation.size(), " rows for a batch of ", images.size(0));
      const torch::Tensor partner =
          torch::tensor(mix.permutation, torch::TensorOptions(torch::kInt64)).to(images.device());
      logits = net.forward(images * mix.lambda + images.index_select(0, partner) * (1 - mix.lambda));
      loss = weighted_loss(logits, labels, class_weights, options.label_smoothing) * mix.lambda +
             weighted_loss(logits, labels.index_select(0, partner), class_weights, options.label_smoothing) *
                 (1 - mix.lambda);
    } else {
      logits = net.forward(images);  // float32 logits whatever the precision (ClassifierImpl::logits)
      loss = weighted_loss(logits, labels, class_weights, options.label_smoothing);
    }
  }
  StepResult result;
  result.loss = loss.item<double>();
  result.finite = std::isfinite(result.loss);
  result.logits = logits.detach();
  if (comm != nullptr)
    result.finite = backward_over_ranks(loss, result.finite, labels, class_weights, optimizer, *comm);
  else if (result.finite)
    loss.backward();
  if (!result.finite) return result;
  optimizer.step();
  return result;
}

EpochTotals run_epoch(ClassifierImpl& net, torch::optim::Optimizer& optimizer, BatchStream& stream,
                      const StepOptions& options, const torch::Device& device, int epoch,
                      double learning_rate, TrainObserver& observer) {
  Communicator* comm = options.comm;
  double loss_sum = 0;
  int64_t seen = 0, correct = 0;
  size_t step = 0;
  StepOptions step_options = options;
  while (auto batch = stream.next()) {
    const torch::Tensor images = batch->images.to(device);
    const torch::Tensor labels = batch->labels.to(device);
    if (options.mixup_alpha > 0) {
      // Its own stream of (seed, epoch, step), apart from the augmentation's (seed, epoch, sample).
      std::mt19937_64 rng = augment_rng(options.seed ^ 0x6d69787570ull, epoch, step);
      step_options.mixup = draw_mixup(options.mixup_alpha, labels.size(0), rng);
    }
    const StepResult result = train_step(net, optimizer, images, labels, step_options);
    TORCH_CHECK(result.finite, "training diverged (loss is not finite) at epoch ", epoch,
                "; lower the learning rate");
    if (options.average != nullptr) options.average->update();
    const int64_t n = labels.size(0);
    loss_sum += result.loss * n;
    seen += n;
    const torch::Tensor predicted = (pneumonia_probability(result.logits) >= 0.5).to(torch::kInt64);
    correct += predicted.eq(labels.gt(0).to(torch::kInt64)).sum().item<int64_t>();
    observer.on_step({epoch, ++step, stream.num_batches(), seen, loss_sum / seen, learning_rate});
  }
  if (comm != nullptr) {
    const std::vector<double> sums =
        sum_over_ranks({loss_sum, static_cast<double>(seen), static_cast<double>(correct)}, *comm);
    loss_sum = sums[0];
    seen = static_cast<int64_t>(sums[1]);
    correct = static_cast<int64_t>(sums[2]);
  }
  EpochTotals totals;
  totals.images = seen;
  totals.mean_loss = loss_sum / std::max<int64_t>(seen, 1);
  totals.accuracy = static_cast<double>(correct) / std::max<int64_t>(seen, 1);
  return totals;
}

}  // namespace pneumoscan
