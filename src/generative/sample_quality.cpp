#include "generative/sample_quality.h"

#include <torch/torch.h>

#include <algorithm>
#include <numeric>
#include <opencv2/imgproc.hpp>
#include <random>

#include "core/errors.h"
#include "models/pretrained.h"
#include "models/registry.h"

namespace pneumoscan {
namespace {

torch::Tensor as_double(const torch::Tensor& x) { return x.to(torch::kCPU, torch::kFloat64).contiguous(); }

// The square root of a symmetric positive semi-definite matrix (eigenvalues
// below zero, rounding error, clamped).
torch::Tensor psd_sqrt(const torch::Tensor& m) {
  const auto [values, vectors] = torch::linalg::eigh(m, "L");
  return vectors.matmul(torch::diag(values.clamp_min(0).sqrt())).matmul(vectors.t());
}

torch::Tensor covariance(const torch::Tensor& x, const torch::Tensor& mean) {
  const torch::Tensor centred = x - mean;
  return centred.t().matmul(centred) / static_cast<double>(x.size(0) - 1);
}

std::vector<int64_t> shuffled(int64_t n, uint64_t seed) {
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(seed);
  std::shuffle(order.begin(), order.end(), rng);
  return order;
}

torch::Tensor rows(const torch::Tensor& x, const std::vector<int64_t>& index, size_t from, size_t to) {
  return x.index_select(0, torch::tensor(std::vector<int64_t>(index.begin() + from, index.begin() + to)));
}

double median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t mid = values.size() / 2;
  return values.size() % 2 ? values[mid] : 0.5 * (values[mid - 1] + values[mid]);
}

}  // namespace

FeatureExtractor imagenet_resnet50_features(const std::string& weights_path, int batch_size) {
  ModelSpec spec;
  spec.architecture = "resnet50-v1";
  spec.in_channels = 3;
  auto net = create_model(complete_spec(spec));
  import_pretrained(*net, weights_path);
  net->eval();
  const std::vector<double> mean = {0.485, 0.456, 0.406}, std = {0.229, 0.224, 0.225};
  return [net, mean, std, batch_size](const std::vector<cv::Mat>& images) {
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> pooled;
    for (size_t start = 0; start < images.size(); start += static_cast<size_t>(batch_size)) {
      const size_t end = std::min(images.size(), start + static_cast<size_t>(batch_size));
      torch::Tensor batch = torch::empty({static_cast<int64_t>(end - start), 3, 224, 224});
      for (size_t i = start; i < end; ++i) {
        cv::Mat resized;
        cv::resize(images[i], resized, cv::Size(224, 224), 0, 0, cv::INTER_LINEAR);
        const torch::Tensor gray =
            torch::from_blob(resized.data, {224, 224}, torch::kUInt8).to(torch::kFloat32) / 255.0;
        for (int c = 0; c < 3; ++c) batch[static_cast<int64_t>(i - start)][c] = (gray - mean[c]) / std[c];
      }
      pooled.push_back(net->forward_features(batch).mean({2, 3}));
    }
    return torch::cat(pooled);
  };
}

double frechet_distance(const torch::Tensor& a_in, const torch::Tensor& b_in) {
  if (a_in.dim() != 2 || b_in.dim() != 2 || a_in.size(1) != b_in.size(1) || a_in.size(0) < 2 ||
      b_in.size(0) < 2)
    throw UsageError("frechet distance: needs two [N >= 2, F] feature sets of one width");
  const torch::Tensor a = as_double(a_in), b = as_double(b_in);
  const torch::Tensor mean_a = a.mean(0), mean_b = b.mean(0);
  const torch::Tensor cov_a = covariance(a, mean_a), cov_b = covariance(b, mean_b);
  const torch::Tensor root_a = psd_sqrt(cov_a);
  const torch::Tensor middle = root_a.matmul(cov_b).matmul(root_a);
  const torch::Tensor trace_root =
      torch::linalg::eigvalsh(0.5 * (middle + middle.t()), "L").clamp_min(0).sqrt().sum();
  const double value =
      ((mean_a - mean_b).pow(2).sum() + cov_a.trace() + cov_b.trace() - 2 * trace_root).item<double>();
  return std::max(0.0, value);
}

double two_sample_accuracy(const torch::Tensor& a_in, const torch::Tensor& b_in, uint64_t seed) {
  if (a_in.size(0) < 4 || b_in.size(0) < 4 || a_in.size(1) != b_in.size(1))
    throw UsageError("two-sample classifier: needs at least 4 rows on each side, of one width");
  const torch::Tensor a = a_in.to(torch::kFloat32), b = b_in.to(torch::kFloat32);
  const std::vector<int64_t> order_a = shuffled(a.size(0), seed), order_b = shuffled(b.size(0), seed + 1);
  const size_t half_a = order_a.size() / 2, half_b = order_b.size() / 2;
  const torch::Tensor train_x = torch::cat({rows(a, order_a, 0, half_a), rows(b, order_b, 0, half_b)});
  const torch::Tensor test_x =
      torch::cat({rows(a, order_a, half_a, order_a.size()), rows(b, order_b, half_b, order_b.size())});
  const torch::Tensor train_y =
      torch::cat({torch::zeros({static_cast<int64_t>(half_a)}), torch::ones({static_cast<int64_t>(half_b)})});
  const torch::Tensor test_y = torch::cat({torch::zeros({static_cast<int64_t>(order_a.size() - half_a)}),
                                           torch::ones({static_cast<int64_t>(order_b.size() - half_b)})});
  // Standardised on the training half; an L2 penalty keeps a few hundred
  // points in 2,048 dimensions from being separated by chance alone.
  const torch::Tensor mean = train_x.mean(0), scale = train_x.std(0).clamp_min(1e-6);
  const torch::Tensor x = (train_x - mean) / scale, held_out = (test_x - mean) / scale;
  torch::manual_seed(seed);
  torch::Tensor weights = torch::zeros({x.size(1)}, torch::requires_grad());
  torch::Tensor bias = torch::zeros({1}, torch::requires_grad());
  torch::optim::LBFGS optimizer({weights, bias},
                                torch::optim::LBFGSOptions(1.0).max_iter(200).line_search_fn("strong_wolfe"));
  const double l2 = 0.05;  // on standardised features and the mean loss
  optimizer.step([&] {
    optimizer.zero_grad();
    const torch::Tensor loss = torch::binary_cross_entropy_with_logits(x.matmul(weights) + bias, train_y) +
                               l2 * weights.pow(2).sum();
    loss.backward();
    return loss;
  });
  torch::NoGradGuard no_grad;
  const torch::Tensor predicted = (held_out.matmul(weights) + bias).gt(0).to(torch::kFloat32);
  return predicted.eq(test_y).to(torch::kFloat64).mean().item<double>();
}

Nearest nearest_by_cosine(const torch::Tensor& queries, const torch::Tensor& references) {
  namespace F = torch::nn::functional;
  const auto unit = [](const torch::Tensor& x) {
    return F::normalize(x.to(torch::kFloat32), F::NormalizeFuncOptions().dim(1));
  };
  const auto [best, index] = unit(queries).matmul(unit(references).t()).max(1);
  Nearest nearest;
  for (int64_t i = 0; i < best.size(0); ++i) {
    nearest.index.push_back(index[i].item<int64_t>());
    nearest.similarity.push_back(best[i].item<double>());
  }
  return nearest;
}

SampleQuality measure_sample_quality(const std::vector<cv::Mat>& real, const std::vector<cv::Mat>& samples,
                                     const FeatureExtractor& features, uint64_t seed) {
  if (samples.size() < kLeastSamples)
    throw UsageError("sample quality: needs at least " + std::to_string(kLeastSamples) + " samples");
  if (real.size() < kLeastRealImages)
    throw UsageError("sample quality: needs at least " + std::to_string(kLeastRealImages) + " real images");
  const torch::Tensor real_features = features(real).to(torch::kFloat32);
  const torch::Tensor sample_features = features(samples).to(torch::kFloat32);
  const std::vector<int64_t> order = shuffled(static_cast<int64_t>(real.size()), seed);
  const size_t half = order.size() / 2;
  const torch::Tensor reference = rows(real_features, order, 0, half);
  const torch::Tensor held_out = rows(real_features, order, half, order.size());

  SampleQuality q;
  q.samples = static_cast<int64_t>(samples.size());
  q.reference_images = static_cast<int64_t>(half);
  q.held_out_images = static_cast<int64_t>(order.size() - half);
  q.frechet = frechet_distance(sample_features, reference);
  q.frechet_real_floor = frechet_distance(held_out, reference);
  q.classifier_accuracy = two_sample_accuracy(held_out, sample_features, seed);
  const Nearest from_samples = nearest_by_cosine(sample_features, reference);
  const Nearest from_held_out = nearest_by_cosine(held_out, reference);
  q.sample_nearest_median = median(from_samples.similarity);
  q.held_out_nearest_median = median(from_held_out.similarity);
  q.held_out_nearest_max =
      *std::max_element(from_held_out.similarity.begin(), from_held_out.similarity.end());
  for (double s : from_samples.similarity) q.possible_copies += s > q.held_out_nearest_max ? 1 : 0;
  std::vector<int64_t> by_similarity(samples.size());
  std::iota(by_similarity.begin(), by_similarity.end(), 0);
  std::sort(by_similarity.begin(), by_similarity.end(),
            [&](int64_t x, int64_t y) { return from_samples.similarity[x] > from_samples.similarity[y]; });
  for (size_t i = 0; i < std::min<size_t>(8, by_similarity.size()); ++i) {
    const int64_t s = by_similarity[i];
    q.closest_samples.push_back(s);
    q.their_references.push_back(order[static_cast<size_t>(from_samples.index[s])]);  // index into `real`
    q.closest_similarity.push_back(from_samples.similarity[s]);
  }
  return q;
}

nlohmann::json to_json(const SampleQuality& q) {
  return {{"samples", q.samples},
          {"reference_images", q.reference_images},
          {"held_out_images", q.held_out_images},
          {"frechet_distance", q.frechet},
          {"frechet_distance_real_floor", q.frechet_real_floor},
          {"two_sample_classifier_accuracy", q.classifier_accuracy},
          {"nearest_similarity",
           {{"samples_median", q.sample_nearest_median},
            {"held_out_median", q.held_out_nearest_median},
            {"held_out_max", q.held_out_nearest_max}}},
          {"possible_copies", q.possible_copies}};
}

}  // namespace pneumoscan
