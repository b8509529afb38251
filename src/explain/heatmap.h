#pragma once
// Visual explanations of one prediction: Grad-CAM, Grad-CAM++ and vanilla
// gradient saliency. Maps are computed at the model's input size; they are
// only upsampled to the original image when an overlay is drawn (overlay.h),
// so memory stays bounded by the network, not by the X-ray's resolution.
//
// Grad-CAM and Grad-CAM++ always use the network's last convolutional feature
// map (ClassifierImpl::forward_features); choosing another layer is not
// supported.
#include <torch/types.h>

#include <opencv2/core.hpp>
#include <string>

#include "models/classifier.h"

namespace pneumoscan {

enum class ExplainMethod { kGradCam, kGradCamPlusPlus, kSaliency };

// "gradcam", "gradcam++", "saliency".
std::string to_string(ExplainMethod method);
// Throws UsageError naming the accepted values for an unknown name.
ExplainMethod explain_method_from_string(const std::string& name);

// Target classes: the score explained is the pneumonia logit (1-output
// networks) or the class logit (2-output networks); for "normal" with one
// output it is the negated logit.
inline constexpr int kTargetNormal = 0;
inline constexpr int kTargetPneumonia = 1;

struct Heatmap {
  cv::Mat map;             // CV_32FC1 in [0, 1] at model input size (H x W of the input tensor)
  double probability = 0;  // P(pneumonia) of the explained forward pass
  int target = kTargetPneumonia;
  std::string method;  // to_string(ExplainMethod)
};

// Explains `net`'s output for one preprocessed image `input` [1, C, H, W]
// (Predictor::input_tensor). Runs in eval mode (the previous mode is
// restored), computes gradients only for the tensors the method needs and
// never touches the parameters' .grad. The map is divided by its maximum; an
// all-zero map stays zero. Throws UsageError for a bad input shape or target.
Heatmap explain(ClassifierImpl& net, const torch::Tensor& input, ExplainMethod method,
                int target = kTargetPneumonia);

}  // namespace pneumoscan
