// Tests of src/eval/evaluate: a model file's figures on labelled images, with
// acquisition-shifted copies and test-time augmentation.
#include <torch/torch.h>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "core/errors.h"
#include "data/loader.h"
#include "eval/evaluate.h"
#include "eval/predict_cache.h"
#include "eval/shift.h"
#include "image/test_time_augmentation.h"
#include "models/registry.h"
#include "test_support.h"

using namespace pneumoscan;

namespace {

// An untrained 3-class small CNN at 64 px: its outputs depend on the pixels,
// which is all these tests need.
LoadedModel random_model() {
  torch::manual_seed(3);
  LoadedModel m;
  m.metadata.spec = complete_spec({"small-cnn", 64, 1, 3});
  m.metadata.preprocess.input_size = 64;
  m.metadata.class_names = {"NORMAL", "BACTERIAL", "VIRAL"};
  m.metadata.threshold = 0.5;
  m.net = create_model(m.metadata.spec);
  m.net->eval();
  return m;
}

// Six textured PNGs, three of each label (pneumonia ones of a known type).
std::vector<Sample> write_images(const test::TempDir& dir) {
  std::vector<Sample> samples;
  cv::RNG rng(11);
  for (int i = 0; i < 6; ++i) {
    cv::Mat image(96, 96, CV_8UC1);
    rng.fill(image, cv::RNG::UNIFORM, 0, 256);
    const bool pneumonia = i % 2 == 1;
    const std::string path =
        dir / (pneumonia ? "person" + std::to_string(i) + "_bacteria_" + std::to_string(i) + ".png"
                         : "IM-000" + std::to_string(i) + "-0001.png");
    cv::imwrite(path, image);
    samples.push_back({path, pneumonia ? kPneumonia : kNormal, "p" + std::to_string(i), "val",
                       pneumonia ? "BACTERIAL" : ""});
  }
  return samples;
}

}  // namespace

TEST(Evaluate, TestTimeAugmentationAveragesTheImageAndItsVariants) {
  test::TempDir dir;
  const std::vector<Sample> samples = write_images(dir);
  LoadedModel model = random_model();

  const Evaluation plain = evaluate_model(model, samples);
  EvaluateOptions options;
  options.test_time_augmentation = true;
  options.with_shifts = true;
  const Evaluation tta = evaluate_model(model, samples, options);
  ASSERT_EQ(tta.probabilities.size(), samples.size());
  ASSERT_TRUE(tta.classes.has_value());
  EXPECT_TRUE(plain.shifted.empty());
  EXPECT_EQ(tta.shifted.size(), acquisition_shifts().size());  // the proxies, each under TTA too

  // The expected mean, look by look, over the same decoded images.
  ImageCache cache(samples, model.metadata.preprocess, 1);
  std::vector<double> expected(samples.size(), 0.0);
  auto add = [&](const ImageCache& look) {
    const CachePredictions p = predict_cache(*model.net, look, 32);
    for (size_t i = 0; i < expected.size(); ++i) expected[i] += p.probabilities[i] / (1 + kTtaVariants);
  };
  add(cache);
  for (int v = 0; v < kTtaVariants; ++v)
    add(cache.transformed([v](const cv::Mat& image) { return tta_variant(image, v); }));
  double moved = 0;
  for (size_t i = 0; i < samples.size(); ++i) {
    EXPECT_NEAR(tta.probabilities[i], expected[i], 1e-5) << i;
    EXPECT_NEAR(plain.probabilities[i], predict_cache(*model.net, cache, 32).probabilities[i], 1e-6);
    moved += std::abs(tta.probabilities[i] - plain.probabilities[i]);
  }
  EXPECT_GT(moved, 1e-4);  // the variants do change what the network says
}

TEST(Evaluate, RefusesUnlabelledImagesAndAnEmptySet) {
  LoadedModel model = random_model();
  EXPECT_THROW(evaluate_model(model, {}), UsageError);
  EXPECT_THROW(evaluate_model(model, {Sample{"x.png", -1, "", "", ""}}), InputError);
}
