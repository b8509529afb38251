// Tests of the DCGAN family (src/models/dcgan), the generator file, GAN
// training, sampling and synthetic training data (src/generative): shapes at
// 64 and 128 px, one step lowering each network's loss, reproducible
// sampling, training with grids and resume, and synthetic images that never
// enter validation. Tiny images only: seconds.
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "core/atomic_file.h"
#include "core/errors.h"
#include "generative/gan_train.h"
#include "generative/sampling.h"
#include "generative/synthetic.h"
#include "generative_support.h"
#include "model_file/generative_file.h"
#include "model_file/model_file.h"
#include "test_support.h"
#include "tfevents_check.h"
#include "training_support.h"

using namespace pneumoscan;

namespace {

DcganOptions tiny_gan() {
  DcganOptions options;
  options.image_size = 16;
  options.width = 8;
  options.noise_dim = 10;
  return options;
}

std::string saved_generator(const test::TempDir& dir, uint64_t seed) {
  torch::manual_seed(seed);
  Generator generator(tiny_gan());
  GenerativeMetadata metadata;
  metadata.name = "g";
  metadata.preprocess = generator_preprocess(16);
  metadata.label = "NORMAL";
  const std::string path = dir / "g.psmodel";
  save_generator(path, metadata, *generator);
  return path;
}

}  // namespace

TEST(Dcgan, GeneratorAndDiscriminatorShapes) {
  for (int64_t size : {64, 128}) {
    DcganOptions options;
    options.image_size = size;
    options.width = 8;  // the layer plan is the paper's; fewer filters keep the test fast
    Generator generator(options);
    Discriminator discriminator(options);
    torch::NoGradGuard no_grad;
    const torch::Tensor images = generator->forward(torch::randn({3, 100}));
    EXPECT_EQ(images.sizes(), (std::vector<int64_t>{3, 1, size, size})) << size;
    EXPECT_LE(images.abs().max().item<float>(), 1.0f);
    EXPECT_EQ(discriminator->forward(images).sizes(), (std::vector<int64_t>{3})) << size;
  }
  // The paper's 64 px networks: ngf = ndf = 64.
  Generator paper;
  EXPECT_EQ(paper->forward(torch::randn({1, 100})).sizes(), (std::vector<int64_t>{1, 1, 64, 64}));
  EXPECT_THROW((void)Generator(DcganOptions{100}), UsageError);
  EXPECT_THROW(Discriminator(tiny_gan())->forward(torch::rand({1, 1, 32, 32})), c10::Error);
}

TEST(Dcgan, OneStepLowersEachLoss) {
  torch::manual_seed(7);
  Generator generator(tiny_gan());
  Discriminator discriminator(tiny_gan());
  const auto adam = torch::optim::AdamOptions(2e-4).betas({0.5, 0.999});
  torch::optim::Adam g_optimizer(generator->parameters(), adam);
  torch::optim::Adam d_optimizer(discriminator->parameters(), adam);
  const torch::Tensor real = torch::rand({8, 1, 16, 16}) * 2 - 1;
  const torch::Tensor noise = torch::randn({8, 10});
  const torch::Tensor ones = torch::ones({8}), zeros = torch::zeros({8});
  // Both networks stay in training mode (batch statistics), as the steps run: the loss of a fixed batch is
  // then a function of the weights alone (the running statistics it updates are not used).
  generator->train();
  discriminator->train();
  const auto d_loss_of = [&](const torch::Tensor& fake) {
    return torch::binary_cross_entropy_with_logits(discriminator->forward(real), ones) +
           torch::binary_cross_entropy_with_logits(discriminator->forward(fake), zeros);
  };
  const auto d_loss = [&] {
    torch::NoGradGuard no_grad;
    return d_loss_of(generator->forward(noise)).item<double>();
  };
  const double d_before = d_loss();
  d_optimizer.zero_grad();
  d_loss_of(generator->forward(noise).detach()).backward();
  d_optimizer.step();
  EXPECT_LT(d_loss(), d_before);

  const auto g_loss = [&] {
    torch::NoGradGuard no_grad;
    return torch::binary_cross_entropy_with_logits(discriminator->forward(generator->forward(noise)), ones)
        .item<double>();
  };
  const double g_before = g_loss();
  g_optimizer.zero_grad();
  torch::binary_cross_entropy_with_logits(discriminator->forward(generator->forward(noise)), ones).backward();
  g_optimizer.step();
  EXPECT_LT(g_loss(), g_before);
}

TEST(Dcgan, InfoDescribesAGeneratorFile) {
  test::TempDir dir;
  const std::string path = saved_generator(dir, 1);
  const test::CommandResult result = test::run_cli("info --model " + path);
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const nlohmann::json info = nlohmann::json::parse(result.output);
  EXPECT_EQ(info.at("kind"), kGeneratorKind);
  EXPECT_EQ(info.at("label"), "NORMAL");
  EXPECT_EQ(info.at("network").at("image_size"), 16);
  EXPECT_GT(info.at("parameters").get<int64_t>(), 0);
  EXPECT_EQ(info.at("integrity").at("checksum"), load_generator(path).checksum);
}

TEST(Dcgan, SamplingIsReproducibleWithASeed) {
  test::TempDir dir;
  const std::string model = saved_generator(dir, 1);
  const LoadedGenerator generator = load_generator(model);
  EXPECT_EQ(generator.metadata.label, "NORMAL");
  const WrittenSamples a = write_samples(generator, model, 5, 11, dir / "a");
  const WrittenSamples b = write_samples(generator, model, 5, 11, dir / "b");
  const WrittenSamples c = write_samples(generator, model, 5, 12, dir / "c");
  ASSERT_EQ(a.files.size(), 5u);
  for (size_t i = 0; i < 5; ++i) EXPECT_EQ(read_file(a.files[i]), read_file(b.files[i])) << i;
  EXPECT_NE(read_file(a.files[0]), read_file(c.files[0]));
  EXPECT_EQ(read_file(a.contact_sheet), read_file(b.contact_sheet));
  EXPECT_EQ(sampled_class(dir / "a"), "NORMAL");
  EXPECT_TRUE(torch::equal(seeded_noise(3, 10, 5), seeded_noise(3, 10, 5)));
  EXPECT_THROW(load_model(model), ModelFileError);
  EXPECT_THROW(write_samples(generator, model, 0, 1, dir / "d"), UsageError);
}

TEST(Dcgan, TrainingWritesGridsAndResumes) {
  test::TempDir dir;
  const auto samples = test::tiny_xrays(dir, 12);
  GanTrainConfig config;
  config.network = tiny_gan();
  config.label = kPneumonia;
  config.epochs = 1;
  config.batch_size = 4;
  config.grid_images = 4;
  config.loader_threads = 1;
  const std::string path = dir / "g.psmodel";
  const GanTrainResult first = train_gan(samples, config, path);
  EXPECT_EQ(first.images, 6u);  // the pneumonia half
  ASSERT_EQ(first.grids.size(), 1u);
  EXPECT_TRUE(std::filesystem::exists(first.grids[0]));
  config.epochs = 2;
  const GanTrainResult second = train_gan(samples, config, path, true);
  ASSERT_EQ(second.history.size(), 2u);
  EXPECT_TRUE(std::filesystem::exists(sample_grid_dir(path) + "/epoch-002.png"));
  const LoadedGenerator loaded = load_generator(path);
  EXPECT_EQ(loaded.metadata.label, "PNEUMONIA");
  EXPECT_EQ(loaded.metadata.training.at("epochs_run"), 2);
  config.network.width = 16;
  EXPECT_THROW(train_gan(samples, config, path, true), UsageError);
}

TEST(Synthetic, ImagesNeverEnterValidation) {
  test::TempDir dir;
  const LoadedGenerator generator = load_generator(saved_generator(dir, 2));
  write_samples(generator, dir / "g.psmodel", 6, 3, dir / "synthetic");
  TrainValSplit split;
  split.train = test::tiny_xrays(dir, 8, "train", "train");
  split.val = test::tiny_xrays(dir, 4, "val", "val");
  const std::vector<Sample> val_before = split.val;
  const SyntheticSet synthetic = read_synthetic(dir / "synthetic");  // class from samples.json
  EXPECT_EQ(synthetic.label, kNormal);
  EXPECT_EQ(synthetic.samples.size(), 6u);  // not the contact sheet
  EXPECT_EQ(read_synthetic(dir / "synthetic:pneumonia").label, kPneumonia);
  add_synthetic_to_training(split, synthetic);
  EXPECT_EQ(split.train.size(), 14u);
  ASSERT_EQ(split.val.size(), val_before.size());
  for (size_t i = 0; i < split.val.size(); ++i) EXPECT_EQ(split.val[i].path, val_before[i].path);
  // Training with them: the model file counts them, and validation (and with it the threshold) saw only real
  // images.
  TrainConfig config = test::quick_config(32, 1, 8, 1);
  config.loader_threads = 1;
  config.data_summary["synthetic"] = synthetic_summary(synthetic);
  const TrainResult result = train_model(split.train, split.val, config, dir / "m.psmodel");
  EXPECT_EQ(result.val_probabilities.size(), val_before.size());
  const auto data = read_model_metadata(dir / "m.psmodel").training.at("data");
  EXPECT_EQ(data.at("synthetic").at("images"), 6);
  EXPECT_EQ(data.at("train_images"), 14);
  EXPECT_EQ(data.at("val_images"), 4);
  // A folder without a class, and a synthetic file that is also a real one, are refused.
  std::filesystem::remove(dir / "synthetic/samples.json");
  EXPECT_THROW(read_synthetic(dir / "synthetic"), UsageError);
  TrainValSplit clash;
  clash.val = {synthetic.samples.front()};
  EXPECT_THROW(add_synthetic_to_training(clash, synthetic), InputError);
}

TEST(DcganCli, TrainSampleAndTrainWithSynthetic) {
  test::TempDir dir;
  const auto samples = test::tiny_xrays(dir, 24);
  write_manifest(dir / "data.csv", samples);
  const std::string common = " --threads 1 ";
  auto result = test::run_cli(
      common + "gan train --data " + dir / "data.csv" + " --class normal --out " + dir / "g.psmodel" +
      " --image-size 64 --width 4 --epochs 1 --batch-size 4 --no-progress" + " --logdir " + dir / "runs");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("d_loss"), std::string::npos) << result.output;
  EXPECT_TRUE(std::filesystem::exists(dir / "g.psmodel.samples/epoch-001.png"));
  // The event files read back with the independent reader: every CRC checked, scalars and an image.
  const test::EventCounts events = test::count_events_independently(dir / "runs");
  EXPECT_GE(events.files, 1u);
  EXPECT_GT(events.scalars, 0u);
  EXPECT_GT(events.images, 0u);
  result =
      test::run_cli(common + "gan sample --model " + dir / "g.psmodel" + " -n 4 --seed 3 --out " + dir / "s");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_TRUE(std::filesystem::exists(dir / "s/contact_sheet.png"));
  result =
      test::run_cli(common + "train --data " + dir / "data.csv" + " --synthetic " + dir / "s" + " --out " +
                    dir / "m.psmodel" + " --image-size 32 --epochs 1 --batch-size 8 --no-progress");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("added 4 synthetic NORMAL images"), std::string::npos) << result.output;
  EXPECT_EQ(read_model_metadata(dir / "m.psmodel").training.at("data").at("synthetic").at("images"), 4);
}
