// Tests of src/explain: heatmap shapes and ranges for every method, overlays
// and PNG outputs at the original size, the sanity checks of the literature
// (a map that follows the evidence a trained model uses; a map that changes
// when the weights are randomised), and the explain / predict --explain CLI.
#include <torch/torch.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <random>

#include "core/errors.h"
#include "ensemble_support.h"
#include "explain/explain_file.h"
#include "explain/heatmap.h"
#include "explain/overlay.h"
#include "model_file/model_file.h"
#include "models/output.h"
#include "models/registry.h"
#include "test_support.h"

using namespace pneumoscan;

namespace {

constexpr std::array<ExplainMethod, 3> kMethods = {ExplainMethod::kGradCam, ExplainMethod::kGradCamPlusPlus,
                                                   ExplainMethod::kSaliency};

void expect_unit_map(const cv::Mat& map, int side, const std::string& what) {
  ASSERT_EQ(map.type(), CV_32FC1) << what;
  ASSERT_EQ(map.rows, side) << what;
  ASSERT_EQ(map.cols, side) << what;
  EXPECT_TRUE(cv::checkRange(map)) << what << ": NaN or infinity";
  double lo = 0, hi = 0;
  cv::minMaxLoc(map, &lo, &hi);
  EXPECT_GE(lo, 0.0) << what;
  // Divided by its maximum: either the peak is 1, or the whole map is zero.
  EXPECT_TRUE(std::abs(hi - 1.0) < 1e-5 || hi == 0.0) << what << ": max " << hi;
}

// Average ranks (ties share their mean rank).
std::vector<double> ranks(const std::vector<double>& values) {
  std::vector<size_t> order(values.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return values[a] < values[b]; });
  std::vector<double> rank(values.size());
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j + 1 < order.size() && values[order[j + 1]] == values[order[i]]) ++j;
    for (size_t k = i; k <= j; ++k) rank[order[k]] = 0.5 * static_cast<double>(i + j);
    i = j + 1;
  }
  return rank;
}

// Spearman rank correlation of two maps. A constant map carries no ranking,
// so its correlation with anything is taken as 0.
double spearman(const cv::Mat& a, const cv::Mat& b) {
  std::vector<double> va(a.begin<float>(), a.end<float>()), vb(b.begin<float>(), b.end<float>());
  const std::vector<double> ra = ranks(va), rb = ranks(vb);
  const double ma = std::accumulate(ra.begin(), ra.end(), 0.0) / ra.size();
  const double mb = std::accumulate(rb.begin(), rb.end(), 0.0) / rb.size();
  double sab = 0, saa = 0, sbb = 0;
  for (size_t i = 0; i < ra.size(); ++i) {
    sab += (ra[i] - ma) * (rb[i] - mb);
    saa += (ra[i] - ma) * (ra[i] - ma);
    sbb += (rb[i] - mb) * (rb[i] - mb);
  }
  return saa == 0 || sbb == 0 ? 0.0 : sab / std::sqrt(saa * sbb);
}

// Share of the map's mass in the top-left quadrant.
double top_left_mass(const cv::Mat& map) {
  const double total = cv::sum(map)[0];
  if (total <= 0) return 0;
  return cv::sum(map(cv::Rect(0, 0, map.cols / 2, map.rows / 2)))[0] / total;
}

// Synthetic X-rays whose class is decided by a bright square in the top-left
// quadrant: present = pneumonia (1), absent = normal (0), on noise. [n, 1, side, side].
struct Synthetic {
  torch::Tensor images, labels;
};
Synthetic quadrant_images(int64_t n, int64_t side, uint32_t seed) {
  std::mt19937 rng(seed);
  torch::Tensor images = 0.3 + 0.1 * torch::randn({n, 1, side, side});
  torch::Tensor labels = torch::empty({n}, torch::kInt64);
  const int64_t patch = side / 4;
  std::uniform_int_distribution<int64_t> offset(0, side / 2 - patch);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t label = (i + seed) % 2;
    if (label == 1) {
      const int64_t y = offset(rng), x = offset(rng);
      images[i].narrow(1, y, patch).narrow(2, x, patch).add_(0.6);
    }
    labels[i] = label;
  }
  // Fixed normalisation: a per-image z-score would let the square shift the
  // whole background, a shortcut a global-pool network takes instead of the square.
  return {(images - 0.3) / 0.1, labels};
}

constexpr int64_t kSanitySide = 64;

// A small CNN with a global-average-pool head whose last feature map is 8x8
// at 64 px (receptive field ~22 px; a quadrant is 32 px). The registry's
// small-cnn is not used for the sanity checks: its flatten + dense head is
// position-specific and Grad-CAM's spatially averaged gradients do not
// localise through it. Measured with it: top-left mass Grad-CAM 0.30,
// Grad-CAM++ 0.45 at 64 px (2x2 map); 0.25 / 0.30 at 128 px (4x4 map, square
// vs none, per-image z-score), whose training also took minutes on 2 cores.
struct TinyGapCnnImpl : ClassifierImpl {
  torch::nn::Sequential features{nullptr};
  torch::nn::Linear fc{nullptr};
  TinyGapCnnImpl() {
    namespace nn = torch::nn;
    features = register_module("features", nn::Sequential(nn::Conv2d(nn::Conv2dOptions(1, 16, 3).padding(1)),
                                                          nn::BatchNorm2d(16), nn::ReLU(), nn::MaxPool2d(2),
                                                          nn::Conv2d(nn::Conv2dOptions(16, 32, 3).padding(1)),
                                                          nn::BatchNorm2d(32), nn::ReLU(), nn::MaxPool2d(2),
                                                          nn::Conv2d(nn::Conv2dOptions(32, 64, 3).padding(1)),
                                                          nn::BatchNorm2d(64), nn::ReLU(), nn::MaxPool2d(2)));
    fc = register_module("fc", nn::Linear(64, 1));
  }
  torch::Tensor forward_features(torch::Tensor images) override { return features->forward(images); }
  torch::Tensor forward_head(torch::Tensor map) override { return fc->forward(map.mean({2, 3})); }
  std::vector<torch::Tensor> head_parameters() override { return fc->parameters(); }
};

Classifier tiny_gap_cnn() { return std::make_shared<TinyGapCnnImpl>(); }

struct TrainedQuadrantModel {
  Classifier net;
  double accuracy = 0;  // on fresh synthetic images
  int steps = 0;
};

// The tiny GAP CNN trained with a plain Adam loop on tensors (seconds);
// built once and shared by the sanity tests.
const TrainedQuadrantModel& trained_quadrant_model() {
  static const TrainedQuadrantModel model = [] {
    torch::manual_seed(11);
    TrainedQuadrantModel m;
    m.net = tiny_gap_cnn();
    torch::optim::Adam optimizer(m.net->parameters(), torch::optim::AdamOptions(3e-3));
    const Synthetic train = quadrant_images(512, kSanitySide, 1);
    m.net->train();
    const int64_t batch = 32;
    for (int step = 0; step < 96; ++step) {
      const int64_t start = (step * batch) % train.images.size(0);
      const torch::Tensor x = train.images.narrow(0, start, batch);
      const torch::Tensor y = train.labels.narrow(0, start, batch).to(torch::kFloat32);
      optimizer.zero_grad();
      const torch::Tensor loss =
          torch::nn::functional::binary_cross_entropy_with_logits(m.net->forward(x).squeeze(1), y);
      loss.backward();
      optimizer.step();
      m.steps = step + 1;
    }
    m.net->eval();
    torch::NoGradGuard no_grad;
    const Synthetic test = quadrant_images(128, kSanitySide, 2);
    const torch::Tensor predicted =
        (pneumonia_probability(m.net->forward(test.images)) >= 0.5).to(torch::kInt64);
    m.accuracy = predicted.eq(test.labels).to(torch::kFloat64).mean().item<double>();
    return m;
  }();
  return model;
}

// Pneumonia images (square top-left) not seen in training.
torch::Tensor pneumonia_test_images() {
  const Synthetic test = quadrant_images(16, kSanitySide, 3);
  return test.images.index({test.labels.eq(1)});
}

}  // namespace

TEST(ExplainMethod, NamesRoundTrip) {
  for (ExplainMethod method : kMethods) EXPECT_EQ(explain_method_from_string(to_string(method)), method);
  EXPECT_EQ(to_string(ExplainMethod::kGradCamPlusPlus), "gradcam++");
  EXPECT_THROW(explain_method_from_string("lime"), UsageError);
}

TEST(Explain, ShapeRangeAndStateForAllMethods) {
  for (const std::string arch : {"small-cnn", "resnet18"}) {
    for (int64_t outputs : {1, 2}) {
      torch::manual_seed(5);
      Classifier net = create_model({arch, 64, 1, outputs});
      net->train();
      const torch::Tensor input = torch::randn({1, 1, 64, 64});
      for (ExplainMethod method : kMethods) {
        for (int target : {kTargetNormal, kTargetPneumonia}) {
          const std::string what =
              arch + "/" + std::to_string(outputs) + "/" + to_string(method) + "/" + std::to_string(target);
          const Heatmap h = explain(*net, input, method, target);
          expect_unit_map(h.map, 64, what);
          EXPECT_EQ(h.method, to_string(method));
          EXPECT_EQ(h.target, target);
          // The probability is the eval-mode forward pass's.
          double expected = 0;
          {
            net->eval();
            torch::NoGradGuard no_grad;
            expected = pneumonia_probability(net->forward(input)).item<double>();
            net->train();
          }
          EXPECT_NEAR(h.probability, expected, 1e-5) << what;
          // Saliency of a random network is never flat.
          if (method == ExplainMethod::kSaliency) EXPECT_GT(cv::sum(h.map)[0], 0.0) << what;
          // The training mode and trainable parameters come back; no gradient was accumulated.
          EXPECT_TRUE(net->is_training()) << what;
          for (const torch::Tensor& p : net->parameters()) {
            EXPECT_TRUE(p.requires_grad()) << what;
            EXPECT_FALSE(p.grad().defined()) << what;
          }
        }
      }
    }
  }
}

TEST(Explain, RejectsBadInputAndTarget) {
  torch::manual_seed(5);
  Classifier net = create_model({"small-cnn", 64, 1, 1});
  EXPECT_THROW(explain(*net, torch::randn({2, 1, 64, 64}), ExplainMethod::kGradCam), UsageError);
  EXPECT_THROW(explain(*net, torch::randn({1, 64, 64}), ExplainMethod::kGradCam), UsageError);
  EXPECT_THROW(explain(*net, torch::randn({1, 1, 64, 64}), ExplainMethod::kGradCam, 2), UsageError);
}

TEST(Explain, WorksUnderInferenceModeInputs) {
  torch::manual_seed(5);
  Classifier net = create_model({"resnet18", 64, 1, 1});
  torch::Tensor input;
  {
    c10::InferenceMode inference;
    input = torch::randn({1, 1, 64, 64});
  }
  for (ExplainMethod method : kMethods)
    expect_unit_map(explain(*net, input, method).map, 64, to_string(method));
}

TEST(ExplainOverlay, SizeEqualsOriginalAndDecodesAsPng) {
  Image original;
  original.pixels = cv::Mat(300, 220, CV_32FC1);
  cv::randu(original.pixels, 0.0, 1.0);
  cv::Mat heat = cv::Mat::zeros(64, 64, CV_32FC1);
  heat(cv::Rect(0, 0, 32, 32)).setTo(1.0);

  const cv::Mat blended = overlay(original, heat);
  EXPECT_EQ(blended.type(), CV_8UC3);
  EXPECT_EQ(blended.size(), original.pixels.size());
  EXPECT_THROW(overlay(original, heat, 1.5), UsageError);
  EXPECT_THROW(overlay(original, cv::Mat()), UsageError);

  test::TempDir dir;
  const std::string overlay_path = dir / "sub/x.overlay.png";
  const std::string heatmap_path = dir / "sub/x.heatmap.png";
  write_overlay_png(overlay_path, original, heat);
  write_heatmap_png16(heatmap_path, heat, original.pixels.size());
  const cv::Mat decoded = cv::imread(overlay_path, cv::IMREAD_UNCHANGED);
  ASSERT_FALSE(decoded.empty());
  EXPECT_EQ(decoded.type(), CV_8UC3);
  EXPECT_EQ(decoded.size(), original.pixels.size());
  EXPECT_EQ(cv::norm(decoded, blended, cv::NORM_INF), 0.0);  // lossless
  const cv::Mat decoded16 = cv::imread(heatmap_path, cv::IMREAD_UNCHANGED);
  ASSERT_FALSE(decoded16.empty());
  EXPECT_EQ(decoded16.type(), CV_16UC1);
  EXPECT_EQ(decoded16.size(), original.pixels.size());
  EXPECT_EQ(decoded16.at<uint16_t>(0, 0), 65535);
  EXPECT_EQ(decoded16.at<uint16_t>(299, 219), 0);
  // No temporary files are left behind.
  EXPECT_EQ(
      std::distance(std::filesystem::directory_iterator(dir / "sub"), std::filesystem::directory_iterator()),
      2);
}

// Sanity check (b): on data where only a bright square in the top-left
// quadrant decides the class, the trained model's map puts most of its mass
// in that quadrant. Asserted for Grad-CAM and Grad-CAM++ (measured 0.83 and
// 0.79 mean). Vanilla saliency is only recorded: through this network its
// input gradients spread over the noise of the whole image (measured 0.25, the
// uniform share); with the registry's small-cnn at 64 px it exceeded 0.5.
TEST(ExplainSanity, MapsFollowTheDecisiveQuadrant) {
  const TrainedQuadrantModel& model = trained_quadrant_model();
  ASSERT_GE(model.accuracy, 0.95) << "the synthetic task was not learned in " << model.steps << " steps";
  const torch::Tensor images = pneumonia_test_images();
  ASSERT_GE(images.size(0), 4);
  for (ExplainMethod method : kMethods) {
    double sum = 0, lowest = 1;
    for (int64_t i = 0; i < images.size(0); ++i) {
      const double mass = top_left_mass(explain(*model.net, images.narrow(0, i, 1), method).map);
      sum += mass;
      lowest = std::min(lowest, mass);
    }
    const double mean = sum / static_cast<double>(images.size(0));
    std::printf("[ quadrant ] %-9s top-left mass on pneumonia images: mean %.3f, min %.3f (accuracy %.3f)\n",
                to_string(method).c_str(), mean, lowest, model.accuracy);
    ::testing::Test::RecordProperty("top_left_mass_" + to_string(method), std::to_string(mean));
    if (method != ExplainMethod::kSaliency) {
      EXPECT_GT(mean, 0.5) << to_string(method);
      EXPECT_GT(lowest, 0.5) << to_string(method);
    }
  }
}

// Sanity check (a), Adebayo et al. 2018: with randomised weights the map must
// change; a map that survives it reflects the image, not the model.
// Asserted for Grad-CAM (measured 0.07) and saliency (0.04). Grad-CAM++ is
// only recorded (measured 0.63; 0.98 with the small-cnn at 64 px): its
// implementation matches the paper (alpha = g^2 / (2 g^2 + sum(A) g^3),
// weights = sum(alpha * relu(g))), but those weights are non-negative by
// construction, so even a random network's map is a positive mix of its
// activations, which follow the bright square as the trained map does.
TEST(ExplainSanity, RandomisedWeightsChangeTheMap) {
  const TrainedQuadrantModel& model = trained_quadrant_model();
  torch::manual_seed(12345);
  Classifier random_net = tiny_gap_cnn();
  const torch::Tensor images = pneumonia_test_images();
  for (ExplainMethod method : kMethods) {
    double sum = 0;
    for (int64_t i = 0; i < images.size(0); ++i) {
      const torch::Tensor input = images.narrow(0, i, 1);
      sum += spearman(explain(*model.net, input, method).map, explain(*random_net, input, method).map);
    }
    const double mean = sum / static_cast<double>(images.size(0));
    std::printf("[ randomise] %-9s mean Spearman rank correlation trained vs random weights: %.3f\n",
                to_string(method).c_str(), mean);
    ::testing::Test::RecordProperty("spearman_random_" + to_string(method), std::to_string(mean));
    if (method != ExplainMethod::kGradCamPlusPlus) EXPECT_LT(mean, 0.5) << to_string(method);
  }
}

TEST(ExplainSanity, SpearmanHelperIsARankCorrelation) {
  cv::Mat a(1, 5, CV_32FC1), b(1, 5, CV_32FC1);
  const float xs[] = {1, 2, 3, 4, 5}, ys[] = {1, 4, 9, 16, 25};
  std::copy(xs, xs + 5, a.begin<float>());
  std::copy(ys, ys + 5, b.begin<float>());
  EXPECT_NEAR(spearman(a, b), 1.0, 1e-12);
  EXPECT_NEAR(spearman(a, -b), -1.0, 1e-12);
  EXPECT_EQ(spearman(a, cv::Mat::zeros(1, 5, CV_32FC1)), 0.0);
}

namespace {
using test::CommandResult;
using test::run_cli;
}  // namespace

TEST(ExplainCli, WritesBothPngsAndReportsBadFiles) {
  test::TempDir dir;
  torch::manual_seed(3);
  ModelMetadata metadata;
  metadata.spec = complete_spec({"small-cnn", 64, 1, 1});
  metadata.preprocess.input_size = 64;
  Classifier net = create_model(metadata.spec);
  const std::string model = dir / "random.psmodel";
  save_model(model, metadata, *net);

  // Smooth texture with a bright central strip: `predict` below must pass the input gate's pixel checks.
  cv::Mat xray(150, 120, CV_8UC1);
  cv::randu(xray, 0, 256);
  cv::GaussianBlur(xray, xray, cv::Size(0, 0), 4);
  cv::normalize(xray, xray, 20, 160, cv::NORM_MINMAX);
  cv::rectangle(xray, cv::Rect(50, 0, 20, 150), cv::Scalar(230), cv::FILLED);
  const std::string good = dir / "chest.png";
  ASSERT_TRUE(cv::imwrite(good, xray));
  const std::string bad = dir / "broken.png";
  std::ofstream(bad) << "\x89PNG\r\n garbage";

  const std::string out = dir / "out";
  const CommandResult result =
      run_cli("explain --model " + model + " --method gradcam++ " + bad + " " + good + " --out " + out);
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_NE(result.output.find("error: " + bad + ":"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find(good + "\tp(pneumonia)="), std::string::npos) << result.output;
  const cv::Mat overlay_png = cv::imread(out + "/chest.overlay.png", cv::IMREAD_UNCHANGED);
  const cv::Mat heatmap_png = cv::imread(out + "/chest.heatmap.png", cv::IMREAD_UNCHANGED);
  ASSERT_FALSE(overlay_png.empty()) << result.output;
  ASSERT_FALSE(heatmap_png.empty()) << result.output;
  EXPECT_EQ(overlay_png.type(), CV_8UC3);
  EXPECT_EQ(heatmap_png.type(), CV_16UC1);
  EXPECT_EQ(overlay_png.size(), xray.size());
  EXPECT_EQ(heatmap_png.size(), xray.size());

  EXPECT_EQ(run_cli("explain --model " + model + " --method lime " + good + " --out " + out).exit_code, 1);

  // Scored against boxes: one box over the whole image holds the maximum and all the mass.
  const std::string boxes = dir / "boxes.csv";
  std::ofstream(boxes) << "patientId,x,y,width,height,Target\nchest,0,0,120,150,1\nbroken,,,,,0\n";
  const CommandResult scored =
      run_cli("explain --model " + model + " --boxes " + boxes + " " + good + " --out " + out);
  EXPECT_EQ(scored.exit_code, 0) << scored.output;
  EXPECT_NE(scored.output.find("\thit mass_inside=1.000 box_share=1.000\n"), std::string::npos)
      << scored.output;
  EXPECT_NE(scored.output.find("pointing game: 1 of 1 maxima inside a box"), std::string::npos)
      << scored.output;
  std::ofstream(boxes) << "patientId,x,y,width,height\nchest,0,0,-5,150\n";
  const CommandResult refused =
      run_cli("explain --model " + model + " --boxes " + boxes + " " + good + " --out " + out);
  EXPECT_EQ(refused.exit_code, 1) << refused.output;
  EXPECT_NE(refused.output.find(boxes + ": line 2: the box's width and height must be positive"),
            std::string::npos)
      << refused.output;

  const std::string out2 = dir / "predicted";
  const CommandResult predicted =
      run_cli("predict --model " + model + " --explain " + out2 + " --method saliency " + good);
  EXPECT_EQ(predicted.exit_code, 0) << predicted.output;
  EXPECT_NE(predicted.output.find(out2 + "/chest.overlay.png"), std::string::npos) << predicted.output;
  EXPECT_EQ(cv::imread(out2 + "/chest.heatmap.png", cv::IMREAD_UNCHANGED).size(), xray.size());
}

// An ensemble explained member by member: the map of member i is that of the
// member's own network; the whole model's map differs from each member's.
TEST(ExplainCli, EnsembleMemberAloneOrAllTogether) {
  test::TempDir dir;
  const std::vector<LoadedModel> members = test::random_small_cnn_members(10);
  const std::string model = dir / "pair.psmodel";
  test::save_pair_ensemble(members, model);
  // OpenCV's global generator at its start state, whatever ran before in this
  // process: other images can give a member an all-zero map, like the whole's.
  cv::theRNG() = cv::RNG(0xffffffff);
  cv::Mat xray(96, 96, CV_8UC1);
  cv::randu(xray, 0, 256);
  cv::GaussianBlur(xray, xray, cv::Size(0, 0), 3);
  const std::string file = dir / "chest.png";
  ASSERT_TRUE(cv::imwrite(file, xray));

  Predictor predictor(model);
  const Image image = decode_image(file);
  const torch::Tensor input = predictor.input_tensor(image);
  const ExplanationFiles whole =
      write_explanation(predictor, image, file, ExplainMethod::kGradCam, kTargetPneumonia, dir / "whole");
  for (int i = 0; i < 2; ++i) {
    const ExplanationFiles one = write_explanation(predictor, image, file, ExplainMethod::kGradCam,
                                                   kTargetPneumonia, dir / ("m" + std::to_string(i)), 0.4, i);
    const Heatmap expected = explain(*members[i].net, input, ExplainMethod::kGradCam);
    EXPECT_LT(cv::norm(one.heatmap.map, expected.map, cv::NORM_INF), 1e-5) << "member " << i;
    EXPECT_NEAR(one.heatmap.probability, expected.probability, 1e-5);
    EXPECT_GT(cv::norm(one.heatmap.map, whole.heatmap.map, cv::NORM_INF), 1e-3) << "member " << i;
  }

  const CommandResult ok =
      run_cli("explain --model " + model + " --member 1 " + file + " --out " + (dir / "cli"));
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
  const CommandResult missing =
      run_cli("explain --model " + model + " --member 2 " + file + " --out " + (dir / "cli"));
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.output.find("no member 2 (members 0-1)"), std::string::npos) << missing.output;
}
