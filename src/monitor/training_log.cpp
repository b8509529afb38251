#include "monitor/training_log.h"

#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <opencv2/imgproc.hpp>
#include <sstream>

#include "core/atomic_file.h"
#include "core/errors.h"
#include "eval/metrics.h"
#include "explain/heatmap.h"
#include "explain/overlay.h"
#include "image/encode.h"
#include "image/image.h"
#include "monitor/event_reader.h"
#include "report/plots.h"

namespace pneumoscan {
namespace {
namespace fs = std::filesystem;

bool holds_event_files(const fs::path& dir) {
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    if (is_event_file_name(it->path().filename().string())) return true;
  return false;
}

// Up to `count` samples, the first by path of each class in turn.
std::vector<Sample> pick_balanced(std::vector<Sample> samples, int count) {
  std::sort(samples.begin(), samples.end(), [](const Sample& a, const Sample& b) { return a.path < b.path; });
  std::vector<Sample> normal, pneumonia, picked;
  for (const Sample& s : samples) (s.label == kPneumonia ? pneumonia : normal).push_back(s);
  for (size_t i = 0; static_cast<int>(picked.size()) < count && (i < normal.size() || i < pneumonia.size());
       ++i) {
    if (i < pneumonia.size()) picked.push_back(pneumonia[i]);
    if (i < normal.size() && static_cast<int>(picked.size()) < count) picked.push_back(normal[i]);
  }
  return picked;
}

std::string as_string(const std::vector<uint8_t>& bytes) { return std::string(bytes.begin(), bytes.end()); }

}  // namespace

PngInfo png_info(const std::string& png) {
  if (png.size() < 26 || png.compare(0, 8, "\x89PNG\r\n\x1a\n") != 0) return {};
  const auto be32 = [&](size_t at) {
    int value = 0;
    for (size_t i = 0; i < 4; ++i) value = (value << 8) | static_cast<unsigned char>(png[at + i]);
    return value;
  };
  // IHDR colour type: 0 gray, 2 RGB, 3 palette (shown as RGB), 4 gray + alpha, 6 RGBA.
  const int colour_type = static_cast<unsigned char>(png[25]);
  const int channels = colour_type == 0 ? 1 : colour_type == 4 ? 2 : colour_type == 6 ? 4 : 3;
  return {be32(16), be32(20), channels};
}

std::string run_log_dir(const std::string& logdir, const std::string& name, bool resume) {
  const fs::path base = fs::path(logdir) / run_folder_name(name);
  if (resume || !holds_event_files(base)) return base.string();
  for (int n = 2;; ++n) {
    const fs::path candidate = base.string() + "-" + std::to_string(n);
    if (!holds_event_files(candidate)) return candidate.string();
  }
}

TrainingLog::TrainingLog(const std::string& run_dir, const std::vector<Sample>& gradcam_candidates,
                         TrainingLogOptions options)
    : run_dir_(run_dir),
      options_(options),
      writer_(run_dir),
      candidates_(pick_balanced(gradcam_candidates, options.gradcam_images)) {}

void TrainingLog::log_config(const nlohmann::json& config) {
  // Indented four spaces: a code block in TensorBoard's markdown text view.
  std::string text;
  std::istringstream lines(config.dump(2));
  for (std::string line; std::getline(lines, line);) text += "    " + line + "\n";
  writer_.add_text("config", text, 0);
  writer_.flush();
}

void TrainingLog::log_step(int64_t global_step, double loss, double learning_rate) {
  writer_.add_scalar("step/train_loss", loss, global_step);
  writer_.add_scalar("step/learning_rate", learning_rate, global_step);
}

void TrainingLog::log_epoch(const EpochRecord& r, const std::vector<float>& val_probabilities,
                            const std::vector<int>& val_labels) {
  const int64_t step = r.epoch;
  writer_.add_scalar("epoch/train_loss", r.train_loss, step);
  writer_.add_scalar("epoch/train_accuracy", r.train_accuracy, step);
  writer_.add_scalar("epoch/val_loss", r.val_loss, step);
  writer_.add_scalar("epoch/val_accuracy", r.val_accuracy, step);
  writer_.add_scalar("epoch/val_sensitivity", r.val_recall, step);
  writer_.add_scalar("epoch/val_specificity", r.val_specificity, step);
  writer_.add_scalar("epoch/val_roc_auc", r.val_roc_auc, step);
  if (!val_probabilities.empty() && val_probabilities.size() == val_labels.size()) {
    writer_.add_scalar("epoch/val_pr_auc", pr_auc(val_probabilities, val_labels), step);
    writer_.add_scalar("epoch/val_ece", expected_calibration_error(val_probabilities, val_labels), step);
  }
  writer_.add_scalar("epoch/learning_rate", r.learning_rate, step);
  writer_.add_scalar("epoch/images_per_second", r.images_per_second, step);
  writer_.add_scalar("epoch/seconds", r.seconds, step);
}

void TrainingLog::log_parameters(torch::nn::Module& net, int epoch) {
  if (!options_.histograms) return;
  torch::NoGradGuard no_grad;
  for (const auto& item : net.named_parameters()) {
    const torch::Tensor weights = item.value().detach().to(torch::kCPU, torch::kFloat).contiguous();
    writer_.add_histogram("weights/" + item.key(), weights.data_ptr<float>(), weights.numel(), epoch);
    const torch::Tensor& grad = item.value().grad();
    if (!grad.defined()) continue;
    const torch::Tensor g = grad.detach().to(torch::kCPU, torch::kFloat).contiguous();
    writer_.add_histogram("gradients/" + item.key(), g.data_ptr<float>(), g.numel(), epoch);
  }
}

void TrainingLog::load_fixed(const PreprocessConfig& preprocess) {
  fixed_loaded_ = true;
  std::string skipped;
  for (size_t i = 0; i < candidates_.size(); ++i) {
    const Sample& sample = candidates_[i];
    try {
      const Image image = decode_image(sample.path);
      Fixed fixed;
      fixed.tag = "gradcam/" + std::to_string(i) + "_" +
                  (sample.label == kPneumonia ? "pneumonia_" : "normal_") +
                  run_folder_name(fs::path(sample.path).stem().string());
      fixed.model_size = resize_for_model(image, preprocess);
      fixed.small = image;
      fixed.small.pixels = shrink_to_fit(image.pixels, options_.gradcam_side);
      fixed_.push_back(std::move(fixed));
    } catch (const Error& e) {
      skipped += std::string(skipped.empty() ? "" : "\n") + e.what();
    }
  }
  if (!skipped.empty()) writer_.add_text("gradcam_skipped", skipped, 0);
}

void TrainingLog::log_gradcam(ClassifierImpl& net, const PreprocessConfig& preprocess, torch::Device device,
                              int epoch) {
  if (!fixed_loaded_) load_fixed(preprocess);
  for (const Fixed& fixed : fixed_) {
    torch::Tensor input =
        torch::empty({1, preprocess.channels, preprocess.input_size, preprocess.input_size});
    normalize_into(fixed.model_size, preprocess, input.data_ptr<float>());
    const Heatmap heatmap = explain(net, input.to(device), ExplainMethod::kGradCam);
    const cv::Mat picture = overlay(fixed.small, heatmap.map);
    writer_.add_image(fixed.tag, as_string(encode_image(picture, ".png", fixed.tag)), picture.rows,
                      picture.cols, 3, epoch);
  }
}

void TrainingLog::log_curves(const std::vector<float>& val_probabilities, const std::vector<int>& val_labels,
                             int epoch) {
  const ScoredSet set{"validation", val_probabilities, val_labels};
  const std::string roc = (fs::path(run_dir_) / "roc.png").string();
  const std::string pr = (fs::path(run_dir_) / "pr.png").string();
  plot_roc(roc, "ROC on validation (best epoch)", {set});
  plot_precision_recall(pr, "Precision-recall on validation (best epoch)", {set});
  for (const auto& [tag, path] :
       {std::pair<std::string, std::string>{"curves/roc", roc}, {"curves/pr", pr}}) {
    std::string png = read_file(path);
    const PngInfo info = png_info(png);
    writer_.add_image(tag, std::move(png), info.height, info.width, info.channels, epoch);
  }
  writer_.flush();
}

}  // namespace pneumoscan
