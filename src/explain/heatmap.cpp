#include "explain/heatmap.h"

#include <torch/autograd.h>
#include <torch/utils.h>

#include <cmath>
#include <opencv2/imgproc.hpp>
#include <vector>

#include "core/errors.h"
#include "models/output.h"

namespace pneumoscan {
namespace {

// Eval mode and frozen parameters for the lifetime of the guard; restores
// both afterwards, also when an exception leaves explain().
class ExplainModeGuard {
 public:
  explicit ExplainModeGuard(ClassifierImpl& net) : eval_mode_(net) {
    for (torch::Tensor& parameter : net.parameters()) {
      parameters_.push_back(parameter);
      requires_grad_.push_back(parameter.requires_grad());
      parameter.requires_grad_(false);
    }
  }
  ~ExplainModeGuard() {
    for (size_t i = 0; i < parameters_.size(); ++i) parameters_[i].requires_grad_(requires_grad_[i]);
  }
  ExplainModeGuard(const ExplainModeGuard&) = delete;
  ExplainModeGuard& operator=(const ExplainModeGuard&) = delete;

 private:
  EvalModeGuard eval_mode_;
  std::vector<torch::Tensor> parameters_;
  std::vector<bool> requires_grad_;
};

// The scalar whose gradient is explained: see heatmap.h.
torch::Tensor target_score(const torch::Tensor& logits, int target) {
  if (logits.dim() != 2 || logits.size(0) != 1 || logits.size(1) < 1)
    throw UsageError("explain: expected logits [1, K], got " + c10::str(logits.sizes()));
  if (logits.size(1) == 1) return target == kTargetPneumonia ? logits[0][0] : -logits[0][0];
  // Pneumonia types (NORMAL, BACTERIAL, VIRAL): the evidence for any pneumonia.
  if (logits.size(1) > 2 && target == kTargetPneumonia) return torch::logsumexp(logits[0].slice(0, 1), 0);
  return logits[0][target];
}

// [h, w] float tensor -> CV_32F [0, 1] (divided by the maximum, negatives and
// non-finite values cleared) resized bilinearly to `size`.
cv::Mat to_unit_map(const torch::Tensor& map2d, cv::Size size) {
  torch::Tensor m = torch::nan_to_num(map2d.detach().to(torch::kCPU, torch::kFloat32), 0.0, 0.0, 0.0)
                        .clamp_min(0)
                        .contiguous();
  const float peak = m.max().item<float>();
  if (peak > 0 && std::isfinite(peak))
    m = m / peak;
  else
    m.zero_();
  m = m.contiguous();
  const cv::Mat small(static_cast<int>(m.size(0)), static_cast<int>(m.size(1)), CV_32FC1,
                      m.data_ptr<float>());
  cv::Mat out;
  if (small.size() == size)
    out = small.clone();
  else
    cv::resize(small, out, size, 0, 0, cv::INTER_LINEAR);
  out = cv::max(out, 0.0);
  out = cv::min(out, 1.0);
  return out;
}

}  // namespace

std::string to_string(ExplainMethod method) {
  switch (method) {
    case ExplainMethod::kGradCam:
      return "gradcam";
    case ExplainMethod::kGradCamPlusPlus:
      return "gradcam++";
    case ExplainMethod::kSaliency:
      return "saliency";
  }
  return "unknown";
}

ExplainMethod explain_method_from_string(const std::string& name) {
  if (name == "gradcam") return ExplainMethod::kGradCam;
  if (name == "gradcam++") return ExplainMethod::kGradCamPlusPlus;
  if (name == "saliency") return ExplainMethod::kSaliency;
  throw UsageError("unknown explanation method '" + name + "' (expected gradcam, gradcam++ or saliency)");
}

Heatmap explain(ClassifierImpl& net, const torch::Tensor& input, ExplainMethod method, int target) {
  if (input.dim() != 4 || input.size(0) != 1)
    throw UsageError("explain: expected one image [1, C, H, W], got " + c10::str(input.sizes()));
  if (target != kTargetNormal && target != kTargetPneumonia)
    throw UsageError("explain: target must be 0 (normal) or 1 (pneumonia), got " + std::to_string(target));
  const cv::Size size(static_cast<int>(input.size(3)), static_cast<int>(input.size(2)));

  ExplainModeGuard mode(net);
  torch::AutoGradMode enable_grad(true);
  // A plain (non-inference) copy, in the network's compute type: the caller's
  // tensor may come from InferenceMode.
  torch::Tensor x = net.prepare_input(input.detach(), input.device()).clone();

  Heatmap heatmap;
  heatmap.target = target;
  heatmap.method = to_string(method);
  torch::Tensor logits;

  if (method == ExplainMethod::kSaliency) {
    x.requires_grad_(true);
    logits = net.forward(x);
    const torch::Tensor gradient = torch::autograd::grad({target_score(logits, target)}, {x})[0];
    heatmap.map = to_unit_map(gradient[0].abs().amax(0), size);
  } else {
    torch::Tensor features;
    {
      torch::NoGradGuard no_grad;  // nothing before the feature map needs a gradient
      features = net.forward_features(x);
    }
    if (features.dim() != 4 || features.size(0) != 1)
      throw UsageError("explain: feature map must be [1, C, h, w], got " + c10::str(features.sizes()));
    const torch::Tensor activations = features.detach().requires_grad_(true);
    logits = net.logits(activations);
    const torch::Tensor a = activations.detach()[0];  // [C, h, w]
    const torch::Tensor g = torch::autograd::grad({target_score(logits, target)}, {activations})[0][0];
    torch::Tensor weights;  // [C]
    if (method == ExplainMethod::kGradCam) {
      weights = g.mean({1, 2});
    } else {
      // Grad-CAM++ (Chattopadhyay et al. 2018) with the score exp(S): its
      // higher derivatives are exp(S) * g^2 and exp(S) * g^3, and exp(S)
      // cancels in alpha = g^2 / (2 g^2 + sum_ab A_ab * g^3).
      const torch::Tensor g2 = g * g;
      const torch::Tensor g3 = g2 * g;
      const torch::Tensor sum_a = a.sum({1, 2}, /*keepdim=*/true);
      torch::Tensor alpha = g2 / (2 * g2 + sum_a * g3 + 1e-6);
      alpha = torch::where(g != 0, alpha, torch::zeros_like(alpha));
      weights = (alpha * torch::relu(g)).sum({1, 2});
    }
    const torch::Tensor cam = torch::relu((weights.view({-1, 1, 1}) * a).sum(0));
    heatmap.map = to_unit_map(cam, size);
  }
  heatmap.probability = pneumonia_probability(logits.detach()).item<double>();
  return heatmap;
}

}  // namespace pneumoscan
