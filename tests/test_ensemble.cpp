// Tests of src/models/ensemble and src/model_file/ensemble: one file of
// several members, averaged in probability; mismatched members refused.
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
  LoadedModel pair = make_ensemble({random_model(1), random_model(2)}, {"a", "b"}, "pair");
  EXPECT_THROW(make_ensemble({pair, random_model(5)}, {"pair", "c"}, "nested"), ModelFileError);
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
