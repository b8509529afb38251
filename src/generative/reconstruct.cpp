#include "generative/reconstruct.h"

#include <torch/torch.h>

#include "generative/pictures.h"
#include "models/classifier.h"

namespace pneumoscan {

torch::Tensor images_to_batch(const std::vector<cv::Mat>& images, const PreprocessConfig& preprocess) {
  const int64_t side = preprocess.input_size, channels = preprocess.channels;
  torch::Tensor batch = torch::empty({static_cast<int64_t>(images.size()), channels, side, side});
  for (size_t i = 0; i < images.size(); ++i)
    normalize_into(images[i], preprocess, batch[static_cast<int64_t>(i)].data_ptr<float>());
  return batch;
}

std::vector<Reconstruction> reconstruct(AutoencoderImpl& net, const PreprocessConfig& preprocess,
                                        const std::vector<cv::Mat>& images, int batch_size) {
  const EvalModeGuard eval_mode(net);
  torch::NoGradGuard no_grad;
  const auto device = net.parameters().front().device();
  std::vector<Reconstruction> results;
  for (size_t start = 0; start < images.size(); start += static_cast<size_t>(batch_size)) {
    const std::vector<cv::Mat> part(
        images.begin() + static_cast<std::ptrdiff_t>(start),
        images.begin() + static_cast<std::ptrdiff_t>(std::min(images.size(), start + batch_size)));
    const torch::Tensor input = images_to_batch(part, preprocess).to(device);
    // The autoencoder's input is [0, 1] pixels (autoencoder_preprocess), its output too.
    const torch::Tensor output = net.forward(input).to(torch::kCPU);
    const torch::Tensor errors = reconstruction_error(input.to(torch::kCPU), output);
    for (int64_t i = 0; i < static_cast<int64_t>(part.size()); ++i)
      results.push_back(
          {part[static_cast<size_t>(i)], tensor_to_gray(output[i], 0.0f, 1.0f), errors[i].item<double>()});
  }
  return results;
}

Reconstruction reconstruct_file(AutoencoderImpl& net, const PreprocessConfig& preprocess,
                                const std::string& path) {
  return reconstruct(net, preprocess, {resize_for_model(decode_image(path), preprocess)}).front();
}

}  // namespace pneumoscan
