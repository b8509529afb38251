// Tests of the autoencoder family (src/models/autoencoder, models/latent_cnn),
// its file (model_file/generative_file), its trainer, codes and
// reconstructions (src/generative): shapes, one step lowering the loss, file
// round trips and refusals, resume, the code file's round trip and refusal of
// codes from another encoder, and a latent-cnn model file that predicts on
// an image end to end. Tiny images only: seconds.
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <opencv2/imgcodecs.hpp>

#include "archive_support.h"
#include "core/atomic_file.h"
#include "core/errors.h"
#include "generative/autoencoder_train.h"
#include "generative/codes.h"
#include "generative/latent_train.h"
#include "generative/pictures.h"
#include "generative/reconstruct.h"
#include "generative_support.h"
#include "infer/predictor.h"
#include "model_file/generative_file.h"
#include "model_file/model_file.h"
#include "models/latent_cnn.h"
#include "models/registry.h"
#include "test_support.h"
#include "tfevents_check.h"

using namespace pneumoscan;

namespace {

AutoencoderOptions tiny_options() {
  AutoencoderOptions options;
  options.input_size = 32;
  return options;
}

std::string saved_autoencoder(const test::TempDir& dir, const std::string& name, uint64_t seed) {
  torch::manual_seed(seed);
  Autoencoder net(tiny_options());
  GenerativeMetadata metadata;
  metadata.name = name;
  metadata.preprocess = autoencoder_preprocess(32);
  const std::string path = dir / (name + ".psmodel");
  save_autoencoder(path, metadata, *net);
  return path;
}

// Records the generative events a test looks at.
struct Recorder : GenerativeObserver {
  std::vector<std::string> pictures;
  std::vector<NamedFigures> figures;
  int resumed_after = -1;
  void on_picture(int, const std::string& tag, const std::string&) override { pictures.push_back(tag); }
  void on_figures(int, const NamedFigures& f) override { figures.push_back(f); }
  void on_resumed(const std::string&, int epochs) override { resumed_after = epochs; }
};

}  // namespace

TEST(Autoencoder, ShapesThroughEncoderAndDecoder) {
  Autoencoder net;  // the study's 224 px network
  net->eval();
  torch::NoGradGuard no_grad;
  const torch::Tensor x = torch::rand({2, 1, 224, 224});
  const torch::Tensor codes = net->encode(x);
  EXPECT_EQ(codes.sizes(), (std::vector<int64_t>{2, 256, 14, 14}));
  EXPECT_EQ(code_shape(net->options), (std::vector<int64_t>{256, 14, 14}));
  const torch::Tensor y = net->decode(codes);
  EXPECT_EQ(y.sizes(), x.sizes());
  EXPECT_GE(y.min().item<float>(), 0.0f);
  EXPECT_LE(y.max().item<float>(), 1.0f);
  EXPECT_THROW(net->encode(torch::rand({1, 1, 128, 128})), c10::Error);
  EXPECT_THROW(net->decode(torch::rand({1, 128, 14, 14})), c10::Error);
  AutoencoderOptions odd;
  odd.input_size = 100;
  EXPECT_THROW(Autoencoder{odd}, c10::Error);
}

TEST(Autoencoder, OneTrainingStepLowersTheLoss) {
  torch::manual_seed(3);
  Autoencoder net(tiny_options());
  net->train();
  torch::optim::Adam optimizer(net->parameters(), torch::optim::AdamOptions(1e-3));
  const torch::Tensor x = torch::rand({8, 1, 32, 32});
  const auto loss = [&] { return torch::mse_loss(net->forward(x), x); };
  const torch::Tensor before = loss();
  optimizer.zero_grad();
  before.backward();
  optimizer.step();
  EXPECT_LT(loss().item<double>(), before.item<double>());
}

TEST(Autoencoder, FileRoundTripAndRefusalsByKind) {
  test::TempDir dir;
  const std::string path = saved_autoencoder(dir, "ae", 1);
  const LoadedAutoencoder loaded = load_autoencoder(path);
  EXPECT_EQ(loaded.metadata.kind, kAutoencoderKind);
  EXPECT_EQ(loaded.metadata.preprocess.input_size, 32);
  EXPECT_EQ(loaded.checksum.size(), 16u);
  torch::manual_seed(1);
  Autoencoder same(tiny_options());
  for (const auto& item : same->named_parameters())
    EXPECT_TRUE(torch::equal(item.value(), loaded.net->named_parameters()[item.key()])) << item.key();
  try {
    load_model(path);
    FAIL() << "a classifier loader took an autoencoder";
  } catch (const ModelFileError& e) {
    EXPECT_NE(std::string(e.what()).find(path + ": is an autoencoder file, not a classifier"),
              std::string::npos)
        << e.what();
  }
  const std::string classifier = dir / "small.psmodel";
  ModelMetadata metadata;
  metadata.spec = {"small-cnn", 64, 1, 1};
  metadata.preprocess.input_size = 64;
  save_model(classifier, metadata, *create_model(metadata.spec));
  EXPECT_THROW(load_autoencoder(classifier), ModelFileError);
}

TEST(Autoencoder, InfoDescribesTheFileAfterVerifyingIt) {
  test::TempDir dir;
  const std::string path = saved_autoencoder(dir, "ae", 1);
  const test::CommandResult result = test::run_cli("info --model " + path);
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const nlohmann::json info = nlohmann::json::parse(result.output);
  EXPECT_EQ(info.at("kind"), kAutoencoderKind);
  EXPECT_EQ(info.at("name"), "ae");
  EXPECT_EQ(info.at("network").at("input_size"), 32);
  EXPECT_EQ(info.at("preprocess").at("input_size"), 32);
  int64_t parameters = 0;
  for (const torch::Tensor& p : Autoencoder(tiny_options())->parameters()) parameters += p.numel();
  EXPECT_EQ(info.at("parameters"), parameters);
  EXPECT_EQ(info.at("integrity").at("verified"), true);
  EXPECT_EQ(info.at("integrity").at("checksum"), load_autoencoder(path).checksum);
  // A damaged file fails as it would in use: one line naming it.
  std::string bytes = read_file(path);
  bytes[bytes.size() / 2] ^= 0x01;
  write_file_atomically(dir / "damaged.psmodel", bytes);
  const test::CommandResult damaged = test::run_cli("info --model " + (dir / "damaged.psmodel"));
  EXPECT_EQ(damaged.exit_code, 1) << damaged.output;
  EXPECT_EQ(damaged.output.rfind("error: " + (dir / "damaged.psmodel") + ": ", 0), 0u) << damaged.output;
}

TEST(Autoencoder, TrainingWritesTheBestModelLogsAndResumes) {
  test::TempDir dir;
  const auto train = test::tiny_xrays(dir, 12, "train");
  const auto val = test::tiny_xrays(dir, 4, "val");
  AutoencoderTrainConfig config;
  config.network = tiny_options();
  config.epochs = 1;
  config.batch_size = 4;
  config.loader_threads = 1;
  const std::string path = dir / "ae.psmodel";
  Recorder events;
  const auto first = train_autoencoder(train, val, config, path, false, &events);
  ASSERT_EQ(first.history.size(), 1u);
  EXPECT_TRUE(std::filesystem::exists(path + ".ckpt"));
  EXPECT_TRUE(std::filesystem::exists(path + ".log.csv"));
  ASSERT_EQ(events.pictures, std::vector<std::string>{"reconstructions"});
  EXPECT_EQ(events.figures.at(0).at(1).first, "val_mse");
  config.epochs = 2;
  const auto resumed = train_autoencoder(train, val, config, path, true, &events);
  EXPECT_EQ(events.resumed_after, 1);
  ASSERT_EQ(resumed.history.size(), 2u);
  EXPECT_LT(resumed.history[1].train_loss, resumed.history[0].train_loss);
  const LoadedAutoencoder loaded = load_autoencoder(path);
  EXPECT_EQ(loaded.metadata.training.at("epochs_run"), 2);
  EXPECT_EQ(loaded.metadata.training.at("best_epoch"), resumed.best_epoch);
  config.batch_size = 8;  // another setting: refused
  EXPECT_THROW(train_autoencoder(train, val, config, path, true), UsageError);
}

TEST(Autoencoder, SsimTermIsTrainedRecordedAndReported) {
  test::TempDir dir;
  const auto train = test::tiny_xrays(dir, 12, "train");
  const auto val = test::tiny_xrays(dir, 4, "val");
  AutoencoderTrainConfig config;
  config.network = tiny_options();
  config.epochs = 2;
  config.batch_size = 4;
  config.loader_threads = 1;
  config.ssim_weight = 0.5;
  const std::string path = dir / "ae.psmodel";
  Recorder events;
  const auto result = train_autoencoder(train, val, config, path, false, &events);
  EXPECT_GT(result.best_val_ssim, 0.0);
  EXPECT_LE(result.best_val_ssim, 1.0);
  EXPECT_EQ(events.figures.at(0).at(2).first, "val_ssim");
  const LoadedAutoencoder loaded = load_autoencoder(path);
  EXPECT_EQ(loaded.metadata.training.at("config").at("ssim_weight"), 0.5);
  EXPECT_EQ(loaded.metadata.training.at("best_val_ssim"), result.best_val_ssim);
  // Without the term the settings say nothing of it (older checkpoints resume).
  EXPECT_FALSE(to_json(AutoencoderTrainConfig{}).contains("ssim_weight"));
  config.ssim_weight = -1;
  EXPECT_THROW(train_autoencoder(train, val, config, dir / "x.psmodel"), UsageError);
}

TEST(Autoencoder, ReconstructionPanelAndError) {
  test::TempDir dir;
  const auto files = test::tiny_xrays(dir, 1);
  LoadedAutoencoder ae = load_autoencoder(saved_autoencoder(dir, "ae", 2));
  const Reconstruction r = reconstruct_file(*ae.net, ae.metadata.preprocess, files[0].path);
  EXPECT_EQ(r.original.size(), cv::Size(32, 32));
  EXPECT_EQ(r.reconstruction.size(), cv::Size(32, 32));
  EXPECT_GT(r.mse, 0.0);
  EXPECT_LT(r.mse, 1.0);
  EXPECT_THROW(reconstruct_file(*ae.net, ae.metadata.preprocess, dir / "missing.png"), InputError);

  // The per-image error is written on the error map (the third tile), and nowhere else.
  const cv::Mat plain = reconstruction_panel(r.original, r.reconstruction);
  const cv::Mat captioned = reconstruction_panel(r.original, r.reconstruction, 0.25, "MSE 0.0123");
  ASSERT_EQ(plain.size(), captioned.size());
  const int tile = r.original.cols, gap = 4;
  const cv::Rect first_two(0, 0, 2 * tile + gap, tile), third(2 * (tile + gap), 0, tile, tile);
  EXPECT_EQ(cv::norm(plain(first_two), captioned(first_two), cv::NORM_INF), 0.0);
  EXPECT_GT(cv::norm(plain(third), captioned(third), cv::NORM_L1), 0.0);
}

TEST(AutoencoderCodes, FileRoundTripKeepsCodesAndSamples) {
  test::TempDir dir;
  const auto samples = test::tiny_xrays(dir, 5);
  const std::string ae_path = saved_autoencoder(dir, "ae", 3);
  LoadedAutoencoder ae = load_autoencoder(ae_path);
  std::vector<std::string> failures;
  const CodeSet codes = encode_samples(*ae.net, ae.metadata.preprocess, ae_path, samples, 1, 2, failures);
  EXPECT_TRUE(failures.empty());
  EXPECT_EQ(codes.codes.sizes(), (std::vector<int64_t>{5, 256, 2, 2}));
  EXPECT_EQ(codes.codes.scalar_type(), torch::kHalf);
  write_codes(dir / "codes.pt", codes);
  const CodeSet back =
      read_codes(dir / "codes.pt", encoder_fingerprint(*ae.net, ae.metadata.preprocess), ae_path);
  EXPECT_TRUE(torch::equal(back.codes, codes.codes));
  ASSERT_EQ(back.samples.size(), samples.size());
  EXPECT_EQ(back.samples[3].path, samples[3].path);
  EXPECT_EQ(back.samples[3].label, samples[3].label);
  EXPECT_EQ(back.samples[3].patient, samples[3].patient);
  EXPECT_EQ(back.autoencoder_path, ae_path);
  // The encoder's codes in float16: what the network computes, to half precision.
  torch::NoGradGuard no_grad;
  ae.net->eval();
  const torch::Tensor direct = ae.net->encode(images_to_batch(
      {resize_for_model(decode_image(samples[0].path), ae.metadata.preprocess)}, ae.metadata.preprocess));
  EXPECT_TRUE(torch::allclose(back.codes[0].to(torch::kFloat32), direct[0], 1e-2, 1e-2));
  EXPECT_THROW(codes_for(back, {Sample{dir / "other.png", 0}}, dir / "codes.pt"), ModelFileError);
  std::ofstream(dir / "junk.pt") << "not codes";
  EXPECT_THROW(read_codes(dir / "junk.pt"), ModelFileError);
  // Read as data with each storage exactly its record: codes whose record was
  // cut short are refused, not read past their end.
  test::rewrite_archive(dir / "codes.pt", dir / "cut.pt", [](const std::string& name, std::string& data) {
    if (name.rfind("data/", 0) == 0) data.resize(data.size() / 2);
    return true;
  });
  try {
    read_codes(dir / "cut.pt");
    ADD_FAILURE() << "codes cut short were read";
  } catch (const ModelFileError& e) {
    EXPECT_NE(std::string(e.what()).find("(emptied or cut short)"), std::string::npos) << e.what();
  }
}

TEST(AutoencoderCodes, CodesOfAnotherEncoderAreRefusedNamingTheFile) {
  test::TempDir dir;
  const auto samples = test::tiny_xrays(dir, 4);
  const std::string ae_path = saved_autoencoder(dir, "ae", 4);
  const std::string other_path = saved_autoencoder(dir, "other", 5);
  LoadedAutoencoder ae = load_autoencoder(ae_path);
  LoadedAutoencoder other = load_autoencoder(other_path);
  std::vector<std::string> failures;
  write_codes(dir / "codes.pt",
              encode_samples(*ae.net, ae.metadata.preprocess, ae_path, samples, 1, 4, failures));
  const std::string other_fingerprint = encoder_fingerprint(*other.net, other.metadata.preprocess);
  EXPECT_NE(other_fingerprint, encoder_fingerprint(*ae.net, ae.metadata.preprocess));
  try {
    read_codes(dir / "codes.pt", other_fingerprint, other_path);
    FAIL() << "codes of another encoder were accepted";
  } catch (const ModelFileError& e) {
    const std::string message = e.what();
    EXPECT_EQ(message.rfind(dir / "codes.pt", 0), 0u) << message;
    EXPECT_NE(message.find("codes made by encoder"), std::string::npos) << message;
    EXPECT_NE(message.find(other_path), std::string::npos) << message;
  }
  TrainConfig config;
  config.spec = {"latent-cnn", 32, 1, 1};
  config.epochs = 1;
  EXPECT_THROW(train_latent_model(samples, samples, read_codes(dir / "codes.pt"), dir / "codes.pt", other,
                                  other_path, config, dir / "latent.psmodel"),
               ModelFileError);
}

TEST(LatentCnn, ShapesAndRegistry) {
  Classifier net = create_model({"latent-cnn", 224, 1, 1});
  net->eval();
  torch::NoGradGuard no_grad;
  const torch::Tensor x = torch::rand({2, 1, 224, 224});
  EXPECT_EQ(net->forward_features(x).sizes(), (std::vector<int64_t>{2, 128, 7, 7}));
  EXPECT_EQ(net->forward(x).sizes(), (std::vector<int64_t>{2, 1}));
  auto* latent = dynamic_cast<LatentCnnImpl*>(net.get());
  ASSERT_NE(latent, nullptr);
  for (const auto& p : latent->encoder->parameters()) EXPECT_FALSE(p.requires_grad());
  EXPECT_THROW(latent->code_features(torch::rand({1, 128, 14, 14})), c10::Error);
}

TEST(LatentCnn, ModelFileFromCodesPredictsOnAnImageEndToEnd) {
  test::TempDir dir;
  const auto train = test::tiny_xrays(dir, 16, "train");
  const auto val = test::tiny_xrays(dir, 8, "val");
  const std::string ae_path = saved_autoencoder(dir, "ae", 6);
  LoadedAutoencoder ae = load_autoencoder(ae_path);
  std::vector<Sample> all = train;
  all.insert(all.end(), val.begin(), val.end());
  std::vector<std::string> failures;
  const CodeSet codes = encode_samples(*ae.net, ae.metadata.preprocess, ae_path, all, 1, 8, failures);
  TrainConfig config;
  config.spec = {"latent-cnn", 0, 1, 1};
  config.epochs = 2;
  config.batch_size = 8;
  const std::string path = dir / "latent.psmodel";
  const TrainResult result =
      train_latent_model(train, val, codes, dir / "codes.pt", ae, ae_path, config, path);
  EXPECT_EQ(result.history.size(), 2u);
  EXPECT_EQ(result.val_probabilities.size(), val.size());
  // The file runs on images: encoder (the autoencoder's, unchanged) + latent CNN, at the encoder's
  // preprocessing.
  Predictor predictor(path);
  EXPECT_EQ(predictor.metadata().spec.architecture, "latent-cnn");
  EXPECT_EQ(predictor.metadata().preprocess.input_size, 32);
  EXPECT_EQ(predictor.metadata().preprocess.normalization, Normalization::kFixed);
  auto& net = dynamic_cast<LatentCnnImpl&>(predictor.net());
  for (const auto& item : ae.net->encoder->named_parameters())
    EXPECT_TRUE(torch::equal(item.value(), net.encoder->named_parameters()[item.key()])) << item.key();
  const Prediction p = predictor.predict_file(val[1].path);
  EXPECT_GE(p.probability, 0.0);
  EXPECT_LE(p.probability, 1.0);
  // On an image it gives what it gave on the image's code during validation (float16 codes: close, not
  // equal).
  EXPECT_NEAR(p.probability, result.val_probabilities[1], 2e-2);
  config.spec.architecture = "small-cnn";
  EXPECT_THROW(train_latent_model(train, val, codes, dir / "codes.pt", ae, ae_path, config, path),
               UsageError);
  TrainConfig pixels;
  pixels.spec = {"latent-cnn", 32, 1, 1};
  EXPECT_THROW(train_model(train, val, pixels, dir / "pixels.psmodel"), UsageError);
}

TEST(AutoencoderCli, TrainEncodeLatentCnnAndPredict) {
  test::TempDir dir;
  const auto samples = test::tiny_xrays(dir, 24);
  write_manifest(dir / "data.csv", samples);
  const std::string common = " --threads 1 ";
  auto result =
      test::run_cli(common + "autoencoder train --data " + dir / "data.csv" + " --out " + dir / "ae.psmodel" +
                    " --image-size 32 --epochs 1 --batch-size 8 --no-progress --logdir " + dir / "runs");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("val_mse"), std::string::npos) << result.output;
  EXPECT_TRUE(std::filesystem::exists(dir / "runs/ae"));
  // The event files read back with the independent reader: every CRC checked, scalars and an image.
  const test::EventCounts events = test::count_events_independently(dir / "runs");
  EXPECT_GE(events.files, 1u);
  EXPECT_GT(events.scalars, 0u);
  EXPECT_GT(events.images, 0u);
  result = test::run_cli(common + "autoencoder encode --model " + dir / "ae.psmodel" + " --data " +
                         dir / "data.csv" + " --out " + dir / "codes.pt");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("encoded 24 images"), std::string::npos) << result.output;
  result = test::run_cli(common + "train --arch latent-cnn --codes " + dir / "codes.pt" + " --data " +
                         dir / "data.csv" + " --out " + dir / "latent.psmodel" +
                         " --epochs 1 --batch-size 8 --no-progress");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  result = test::run_cli(common + "predict --model " + dir / "latent.psmodel" + " " + samples[1].path);
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find(samples[1].path + "\t"), std::string::npos) << result.output;
  // The latent CNN as a row of the comparison study beside a pixel model; without codes it is refused.
  result = test::run_cli(common + "compare --archs latent-cnn:codes=" + dir / "codes.pt" +
                         ",small-cnn:size=32 --data " + dir / "data.csv" + " --out " + dir / "cmp" +
                         " --epochs 1 --batch-size 8 --no-plots --no-progress");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const std::string table = read_file(dir / "cmp/comparison.csv");
  EXPECT_NE(table.find("latent-cnn"), std::string::npos) << table;
  EXPECT_NE(table.find("small-cnn"), std::string::npos) << table;
  result = test::run_cli(common + "compare --archs latent-cnn --data " + dir / "data.csv" + " --out " +
                         dir / "cmp2 --epochs 1 --no-plots --no-progress");
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.output.find("add codes=FILE"), std::string::npos) << result.output;
  result = test::run_cli(common + "autoencoder reconstruct --model " + dir / "ae.psmodel" + " --out " +
                         dir / "rec " + samples[0].path);
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_TRUE(std::filesystem::exists(dir / "rec/img-0.reconstruction.png"));
  EXPECT_TRUE(std::filesystem::exists(dir / "rec/errors.csv"));
  // latent-cnn without codes, and a classifier command on the autoencoder file: one-line errors.
  result = test::run_cli(common + "train --arch latent-cnn --data " + dir / "data.csv" + " --out " +
                         dir / "x.psmodel");
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.output.find("--codes"), std::string::npos) << result.output;
  result = test::run_cli(common + "predict --model " + dir / "ae.psmodel" + " " + samples[1].path);
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.output.find("not a classifier"), std::string::npos) << result.output;
}
