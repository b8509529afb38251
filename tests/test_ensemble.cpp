// Tests of src/models/ensemble and src/model_file/ensemble: one file of
// several members, averaged in probability; members of other architectures
// and normalisations fed through their input adapters; ensemble files joined;
// mismatched members refused.
#include <torch/torch.h>

#include "core/errors.h"
#include "model_file/ensemble.h"
#include "models/ensemble.h"
#include "models/output.h"
#include "test_support.h"

using namespace pneumoscan;

namespace {
LoadedModel random_model(uint64_t seed, int64_t size = 64, const std::string& arch = "small-cnn") {
  torch::manual_seed(seed);
  LoadedModel m;
  m.metadata.spec = complete_spec({arch, size, 1, 3});
  m.metadata.preprocess.input_size = static_cast<int>(size);
  m.metadata.class_names = {"NORMAL", "BACTERIAL", "VIRAL"};
  m.metadata.threshold = 0.4 + 0.1 * static_cast<double>(seed % 2);
  m.net = create_model(m.metadata.spec);
  m.net->eval();
  return m;
}
}  // namespace

TEST(Ensemble, AveragesMemberProbabilitiesAndRoundTrips) {
  LoadedModel a = random_model(1), b = random_model(2);
  const torch::Tensor x = torch::randn({2, 1, 64, 64});
  torch::NoGradGuard no_grad;
  const torch::Tensor expected =
      (class_probabilities(a.net->forward(x)) + class_probabilities(b.net->forward(x))) / 2;
  LoadedModel e = make_ensemble({a, b}, {"a.psmodel", "b.psmodel"}, "pair");
  EXPECT_EQ(e.metadata.ensemble_size, 2);
  EXPECT_NEAR(e.metadata.threshold, 0.45, 1e-12);
  EXPECT_TRUE(torch::allclose(class_probabilities(e.net->forward(x)), expected, 1e-5, 1e-6));

  test::TempDir dir;
  e.net->set_temperature(2.0);
  e.metadata.temperature = 2.0;
  save_model(dir / "e.psmodel", e.metadata, *e.net);
  LoadedModel loaded = load_model(dir / "e.psmodel");
  EXPECT_EQ(loaded.metadata.ensemble_size, 2);
  EXPECT_DOUBLE_EQ(loaded.net->temperature(), 2.0);
  EXPECT_TRUE(torch::allclose(loaded.net->forward(x), e.net->forward(x), 1e-5, 1e-6));
  // Temperature 2 on log-mean-probabilities: p^(1/2), renormalised.
  const torch::Tensor tempered = expected.sqrt() / expected.sqrt().sum(1, true);
  EXPECT_TRUE(torch::allclose(class_probabilities(loaded.net->forward(x)), tempered, 1e-5, 1e-6));
}

TEST(Ensemble, RefusesMismatchedMembers) {
  EXPECT_THROW(make_ensemble({random_model(1)}, {"a"}, "one"), UsageError);
  EXPECT_THROW(make_ensemble({random_model(1), random_model(2, 96)}, {"a", "b"}, "sizes"), ModelFileError);
  LoadedModel other_classes = random_model(3);
  other_classes.metadata.class_names = {"NORMAL", "VIRAL", "BACTERIAL"};
  EXPECT_THROW(make_ensemble({random_model(1), other_classes}, {"a", "b"}, "classes"), ModelFileError);
  LoadedModel other_preprocessing = random_model(4);
  other_preprocessing.metadata.preprocess.normalization = Normalization::kEqualizeZScore;
  EXPECT_THROW(make_ensemble({random_model(1), other_preprocessing}, {"a", "b"}, "prep"), ModelFileError);
  LoadedModel fixed = random_model(5);
  fixed.metadata.preprocess.normalization = Normalization::kFixed;
  try {  // a per-image normalisation cannot be undone by an adapter
    make_ensemble({fixed, random_model(6)}, {"fixed.psmodel", "zscore.psmodel"}, "mixed");
    ADD_FAILURE() << "an image z-score member joined a fixed-normalisation ensemble";
  } catch (const ModelFileError& e) {
    EXPECT_NE(std::string(e.what()).find("zscore.psmodel"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("only fixed normalisations"), std::string::npos) << e.what();
  }
}

namespace {
// A member trained on `normalization` at 64 px: fixed mean/std per channel.
LoadedModel fixed_model(uint64_t seed, const std::string& arch, int channels, std::vector<float> mean,
                        std::vector<float> std) {
  torch::manual_seed(seed);
  LoadedModel m;
  m.metadata.spec = complete_spec({arch, 64, channels, 3});
  m.metadata.preprocess.input_size = 64;
  m.metadata.preprocess.channels = channels;
  m.metadata.preprocess.normalization = Normalization::kFixed;
  m.metadata.preprocess.mean = std::move(mean);
  m.metadata.preprocess.std = std::move(std);
  m.metadata.class_names = {"NORMAL", "BACTERIAL", "VIRAL"};
  m.metadata.threshold = 0.5;
  m.net = create_model(m.metadata.spec);
  m.net->eval();
  return m;
}

// Gray pixels in [0, 1] as `preprocess` normalises them (channels repeated).
torch::Tensor normalised(const torch::Tensor& gray, const PreprocessConfig& preprocess) {
  std::vector<torch::Tensor> channels;
  for (size_t c = 0; c < static_cast<size_t>(preprocess.channels); ++c) {
    const float mean = preprocess.mean.size() == 1 ? preprocess.mean[0] : preprocess.mean[c];
    const float std = preprocess.std.size() == 1 ? preprocess.std[0] : preprocess.std[c];
    channels.push_back((gray.select(1, 0) - mean) / std);
  }
  return torch::stack(channels, 1);
}
}  // namespace

// The product's case: a ResNet member trained on ImageNet's RGB normalisation
// joins MobileNetV2 members trained on gray [-1, 1] input. Each member must see
// exactly the input it was trained on, in the ensemble, from the file and as
// a member on its own.
TEST(Ensemble, MembersOfOtherArchitecturesAndNormalisationsSeeTheirOwnInput) {
  LoadedModel gray = fixed_model(1, "mobilenet-v2", 1, {0.5f}, {0.5f});
  LoadedModel rgb = fixed_model(2, "resnet18", 3, {0.485f, 0.456f, 0.406f}, {0.229f, 0.224f, 0.225f});
  const torch::Tensor pixels = torch::rand({2, 1, 64, 64});
  const torch::Tensor input = normalised(pixels, gray.metadata.preprocess);
  torch::NoGradGuard no_grad;
  const torch::Tensor rgb_alone = rgb.net->forward(normalised(pixels, rgb.metadata.preprocess));
  const torch::Tensor expected =
      (class_probabilities(gray.net->forward(input)) + class_probabilities(rgb_alone)) / 2;

  LoadedModel e = make_ensemble({gray, rgb}, {"gray.psmodel", "rgb.psmodel"}, "mixed");
  ASSERT_EQ(e.metadata.members.size(), 2u);
  EXPECT_EQ(e.metadata.members[1].spec.architecture, "resnet18");
  EXPECT_EQ(required_format_version(e.metadata), 4);
  EXPECT_EQ(architecture_summary(e.metadata), "mobilenet-v2 + resnet18");
  EXPECT_EQ(e.metadata.preprocess.channels, 1);
  EXPECT_TRUE(torch::allclose(class_probabilities(e.net->forward(input)), expected, 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(ensemble_member(*e.net, 1).forward(input), rgb_alone, 1e-4, 1e-5));
  // Without its adapter the ResNet would see gray [-1, 1] input and answer otherwise.
  EXPECT_FALSE(torch::allclose(rgb.net->forward(input.repeat({1, 3, 1, 1})), rgb_alone, 1e-4, 1e-5));

  test::TempDir dir;
  save_model(dir / "mixed.psmodel", e.metadata, *e.net);
  LoadedModel loaded = load_model(dir / "mixed.psmodel");
  ASSERT_EQ(loaded.metadata.members.size(), 2u);
  EXPECT_EQ(loaded.metadata.members[1].preprocess.channels, 3);
  EXPECT_TRUE(torch::allclose(class_probabilities(loaded.net->forward(input)), expected, 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(ensemble_member(*loaded.net, 1).forward(input), rgb_alone, 1e-4, 1e-5));
  // In bfloat16 the member seen through its adapter reports and computes in its member's type.
  loaded.net->set_compute_type(torch::kBFloat16);
  ClassifierImpl& view = ensemble_member(*loaded.net, 1);
  EXPECT_EQ(view.compute_type(), torch::kBFloat16);
  EXPECT_EQ(view.forward_features(view.prepare_input(input, torch::kCPU)).scalar_type(), torch::kBFloat16);
}

// An ensemble file given to make_ensemble gives its members, so a network can
// join a shipped ensemble; the joined file averages all of them equally.
TEST(Ensemble, AnEnsembleFileGivesItsMembers) {
  LoadedModel a = random_model(1), b = random_model(2), c = random_model(3);
  const torch::Tensor x = torch::randn({2, 1, 64, 64});
  torch::NoGradGuard no_grad;
  const torch::Tensor expected =
      (class_probabilities(a.net->forward(x)) + class_probabilities(b.net->forward(x)) +
       class_probabilities(c.net->forward(x))) /
      3;
  LoadedModel pair = make_ensemble({a, b}, {"a.psmodel", "b.psmodel"}, "pair");
  pair.net->set_temperature(3.0);  // the pair's calibration is not carried into the new file
  LoadedModel trio = make_ensemble({pair, c}, {"pair.psmodel", "c.psmodel"}, "trio");
  EXPECT_EQ(trio.metadata.ensemble_size, 3);
  EXPECT_TRUE(trio.metadata.members.empty());  // all alike: described once, as before
  EXPECT_TRUE(torch::allclose(class_probabilities(trio.net->forward(x)), expected, 1e-5, 1e-6));
  const auto& records = trio.metadata.training.at("members");
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0].at("source"), "pair.psmodel member 0");
  EXPECT_EQ(records[1].at("source"), "pair.psmodel member 1");
  EXPECT_EQ(records[2].at("source"), "c.psmodel");
}

TEST(Ensemble, MemberIsTheMembersOwnNetwork) {
  LoadedModel a = random_model(1), b = random_model(2);
  const torch::Tensor x = torch::randn({2, 1, 64, 64});
  torch::NoGradGuard no_grad;
  LoadedModel e = make_ensemble({a, b}, {"a.psmodel", "b.psmodel"}, "pair");
  EXPECT_TRUE(torch::allclose(ensemble_member(*e.net, 1).forward(x), b.net->forward(x), 1e-6, 1e-6));
  EXPECT_TRUE(torch::allclose(ensemble_member(*e.net, 0).forward(x), a.net->forward(x), 1e-6, 1e-6));
  EXPECT_THROW(ensemble_member(*e.net, 2), UsageError);
  EXPECT_THROW(ensemble_member(*e.net, -1), UsageError);
  EXPECT_THROW(ensemble_member(*a.net, 0), UsageError);
}
