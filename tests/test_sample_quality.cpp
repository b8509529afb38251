// generative/sample_quality: the Frechet distance, the two-sample classifier
// and the copy check on feature sets whose answer is known, then `gan
// evaluate` end to end with the ImageNet ResNet-50 from ../shared.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/errors.h"
#include "generative/sample_quality.h"
#include "model_file/generative_file.h"
#include "test_support.h"

namespace pneumoscan {
namespace {

TEST(SampleQuality, FrechetDistanceOfKnownGaussians) {
  torch::manual_seed(1);
  const torch::Tensor a = torch::randn({4000, 8}, torch::kFloat64);
  const torch::Tensor b = torch::randn({4000, 8}, torch::kFloat64);
  EXPECT_NEAR(frechet_distance(a, a), 0.0, 1e-6);
  EXPECT_LT(frechet_distance(a, b), 0.05);  // the same distribution, sampling noise only
  // A mean shifted by 1 in every one of 8 dimensions: 8; scaled by 2: tr(C) terms 1 + 4 - 2*2 per dimension.
  EXPECT_NEAR(frechet_distance(a, b + 1), 8.0, 0.3);
  EXPECT_NEAR(frechet_distance(a, 2 * b), 8.0, 0.3);
  EXPECT_NEAR(frechet_distance(a, b + 1), frechet_distance(b + 1, a), 1e-6);
  EXPECT_THROW(frechet_distance(a, torch::randn({10, 3})), UsageError);
  EXPECT_THROW(frechet_distance(a.slice(0, 0, 1), b), UsageError);
}

TEST(SampleQuality, TwoSampleClassifierTellsApartOnlyWhatDiffers) {
  torch::manual_seed(2);
  const torch::Tensor a = torch::randn({200, 64}), b = torch::randn({200, 64});
  EXPECT_NEAR(two_sample_accuracy(a, b, 1), 0.5, 0.12);
  torch::Tensor shifted = b.clone();
  shifted.select(1, 3) += 5.0;  // one feature moved by 5 standard deviations (best possible: 0.994)
  EXPECT_GT(two_sample_accuracy(a, shifted, 1), 0.9);
  EXPECT_EQ(two_sample_accuracy(a, shifted, 7), two_sample_accuracy(a, shifted, 7));
  EXPECT_THROW(two_sample_accuracy(a.slice(0, 0, 3), b, 1), UsageError);
}

TEST(SampleQuality, CopiesOfReferenceImagesAreFlagged) {
  // 8x8 gray pictures, features = their pixels: samples 0-2 copy real images.
  std::vector<cv::Mat> real, samples;
  cv::RNG rng(5);
  for (int i = 0; i < 40; ++i) {
    cv::Mat image(8, 8, CV_8U);
    rng.fill(image, cv::RNG::UNIFORM, 0, 256);
    real.push_back(image);
  }
  for (int i = 0; i < 20; ++i) {
    cv::Mat image(8, 8, CV_8U);
    rng.fill(image, cv::RNG::UNIFORM, 0, 256);
    samples.push_back(image);
  }
  const FeatureExtractor pixels = [](const std::vector<cv::Mat>& images) {
    torch::Tensor x = torch::empty({static_cast<int64_t>(images.size()), 64});
    for (size_t i = 0; i < images.size(); ++i)
      x[static_cast<int64_t>(i)] =
          torch::from_blob(images[i].data, {64}, torch::kUInt8).to(torch::kFloat32) / 255.0 - 0.5;
    return x;
  };
  // Which real images end up as references depends on the seeded split: copy from all of them.
  for (int i = 0; i < 40; ++i) samples.push_back(real[static_cast<size_t>(i)].clone());
  const SampleQuality q = measure_sample_quality(real, samples, pixels, 3);
  EXPECT_EQ(q.samples, 60);
  EXPECT_EQ(q.reference_images, 20);
  EXPECT_EQ(q.held_out_images, 20);
  EXPECT_EQ(q.possible_copies, 20);  // the copies of the 20 reference images
  ASSERT_EQ(q.closest_samples.size(), 8u);
  EXPECT_NEAR(q.closest_similarity.front(), 1.0, 1e-5);
  for (size_t i = 0; i < 8; ++i) {
    EXPECT_GE(q.closest_samples[i], 20);                          // a copy...
    EXPECT_EQ(q.their_references[i], q.closest_samples[i] - 20);  // ...of exactly that real image
  }
  EXPECT_LT(q.held_out_nearest_max, 0.999);
  EXPECT_THROW(measure_sample_quality(real, {samples[0]}, pixels, 3), UsageError);
}

TEST(SampleQuality, GanEvaluateWithTheImageNetResNet50) {
  PNEUMOSCAN_REQUIRE_SHARED(weights, "pretrained/resnet50_imagenet.pt");
  PNEUMOSCAN_REQUIRE_SHARED(data, "data/chest_xray");
  test::TempDir dir;
  DcganOptions options;
  options.image_size = 64;
  options.width = 8;
  options.noise_dim = 10;
  torch::manual_seed(1);
  Generator generator(options);  // untrained: its samples are far from X-rays
  GenerativeMetadata metadata;
  metadata.name = "g";
  metadata.preprocess = generator_preprocess(64);
  metadata.label = "NORMAL";
  save_generator(dir / "g.psmodel", metadata, *generator);
  const test::CommandResult result =
      test::run_cli("gan evaluate --model " + (dir / "g.psmodel") + " --data " + data + " --features " +
                    weights + " -n 12 --real 24 --seed 4 --out " + (dir / "quality"));
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const nlohmann::json report = nlohmann::json::parse(read_file(dir / "quality/quality.json"));
  EXPECT_EQ(report.at("samples"), 12);
  EXPECT_EQ(report.at("reference_images"), 12);
  EXPECT_EQ(report.at("class"), "NORMAL");
  EXPECT_GT(report.at("frechet_distance").get<double>(),
            2 * report.at("frechet_distance_real_floor").get<double>());
  EXPECT_GE(report.at("two_sample_classifier_accuracy").get<double>(), 0.9);
  EXPECT_EQ(report.at("possible_copies"), 0);
  EXPECT_TRUE(std::filesystem::exists(dir / "quality/nearest_pairs.png"));
  EXPECT_NE(result.output.find("Frechet distance (ResNet-50 features)"), std::string::npos) << result.output;

  // Too few real images of the class: one line naming the data set and the class.
  const std::string manifest = dir / "three.csv";
  std::string rows = "path,label\n";
  int normals = 0;
  for (const auto& entry : std::filesystem::directory_iterator(data + "/train/NORMAL"))
    if (normals++ < 3) rows += entry.path().string() + ",NORMAL\n";
  write_file_atomically(manifest, rows);
  const test::CommandResult few = test::run_cli("gan evaluate --model " + (dir / "g.psmodel") + " --data " +
                                                manifest + " --features " + weights + " -n 12 --real 24");
  EXPECT_NE(few.exit_code, 0);
  EXPECT_NE(few.output.find(manifest + ": 3 readable training images of class NORMAL"), std::string::npos)
      << few.output;
}

}  // namespace
}  // namespace pneumoscan
