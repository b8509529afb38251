#include "generative/sampling.h"

#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/errors.h"
#include "core/json_text.h"
#include "core/text.h"
#include "generative/pictures.h"
#include "models/classifier.h"

namespace pneumoscan {

std::vector<cv::Mat> generate_images(GeneratorImpl& generator, const torch::Tensor& noise, int batch_size) {
  const EvalModeGuard eval_mode(generator);
  torch::NoGradGuard no_grad;
  const auto device = generator.parameters().front().device();
  std::vector<cv::Mat> images;
  for (int64_t start = 0; start < noise.size(0); start += batch_size) {
    const torch::Tensor batch = noise.slice(0, start, std::min<int64_t>(noise.size(0), start + batch_size));
    const torch::Tensor output = generator.forward(batch.to(device)).to(torch::kCPU);
    for (int64_t i = 0; i < output.size(0); ++i) images.push_back(tensor_to_gray(output[i], -1.0f, 1.0f));
  }
  return images;
}

cv::Mat sample_grid(GeneratorImpl& generator, const torch::Tensor& noise) {
  const std::vector<cv::Mat> images = generate_images(generator, noise);
  const int columns = std::min(8, static_cast<int>(std::ceil(std::sqrt(static_cast<double>(images.size())))));
  return image_grid(images, columns);
}

WrittenSamples write_samples(const LoadedGenerator& loaded, const std::string& model_path, int n,
                             uint64_t seed, const std::string& dir) {
  if (n < 1) throw UsageError("-n must be at least 1");
  std::filesystem::create_directories(dir);
  GeneratorImpl& generator = *loaded.net.ptr();
  const std::vector<cv::Mat> images =
      generate_images(generator, seeded_noise(n, generator.options.noise_dim, seed));
  WrittenSamples written;
  for (size_t i = 0; i < images.size(); ++i) {
    written.files.push_back((std::filesystem::path(dir) / format_string("sample-%05zu.png", i)).string());
    write_file_atomically(written.files.back(), png_bytes(images[i], written.files.back()));
  }
  written.contact_sheet = (std::filesystem::path(dir) / "contact_sheet.png").string();
  const std::vector<cv::Mat> first(images.begin(), images.begin() + std::min<std::ptrdiff_t>(64, n));
  write_file_atomically(written.contact_sheet, png_bytes(image_grid(first, 8), written.contact_sheet));
  written.description = (std::filesystem::path(dir) / "samples.json").string();
  const nlohmann::json description = {{"model", model_path},
                                      {"checksum", loaded.checksum},
                                      {"class", loaded.metadata.label},
                                      {"seed", seed},
                                      {"count", n},
                                      {"image_size", generator.options.image_size},
                                      {"noise", "standard normal, seeded_noise(count, noise_dim, seed)"}};
  write_file_atomically(written.description, json_text(description) + "\n");
  return written;
}

std::string sampled_class(const std::string& dir) {
  const std::filesystem::path path = std::filesystem::path(dir) / "samples.json";
  if (!std::filesystem::exists(path)) return "";
  try {
    return nlohmann::json::parse(read_file(path.string(), kTextReadLimit)).at("class").get<std::string>();
  } catch (const nlohmann::json::exception& e) {
    throw InputError(path.string(), "bad sample description: " + json_problem(e));
  }
}

}  // namespace pneumoscan
