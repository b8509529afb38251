// Tests of src/models/small_cnn: the seed study's network (parameter count,
// shapes, input checks).
#include <torch/torch.h>

#include "core/errors.h"
#include "models/registry.h"
#include "models/small_cnn.h"
#include "test_support.h"

using namespace pneumoscan;

TEST(SmallCnn, ParameterCountMatchesSeedStudy) {
  // The seed's Keras summary: 2,525,121 parameters with one sigmoid output,
  // counting BatchNorm's moving mean/variance (544 channels x 2) as Keras does.
  Classifier net = create_model({"small-cnn", 128, 1, 1});
  EXPECT_EQ(count_parameters_and_buffers(*net), 2525121);
  EXPECT_EQ(count_parameters(*net), 2525121 - 2 * (32 + 64 + 64 + 128 + 256));
}

TEST(SmallCnn, ForwardShapesAndFeatureMap) {
  Classifier net = create_model({"small-cnn", 128, 1, 2});
  net->eval();
  torch::NoGradGuard no_grad;
  const torch::Tensor x = torch::randn({3, 1, 128, 128});
  EXPECT_EQ(net->forward_features(x).sizes(), (std::vector<int64_t>{3, 256, 4, 4}));
  EXPECT_EQ(net->forward(x).sizes(), (std::vector<int64_t>{3, 2}));
}

TEST(SmallCnn, RejectsWrongInput) {
  Classifier net = create_model({"small-cnn", 128, 1, 1});
  EXPECT_THROW(net->forward(torch::randn({1, 3, 128, 128})), c10::Error);
  EXPECT_THROW(net->forward(torch::randn({1, 1, 96, 96})), c10::Error);  // head expects 4x4
  try {
    create_model({"small-cnn", 100, 1, 1});
    FAIL() << "an input size that is not a multiple of 32 was accepted";
  } catch (const UsageError& e) {  // named once, not "small-cnn: small-cnn: ..."
    EXPECT_EQ(std::string(e.what()), "small-cnn: input size must be a multiple of 32, got 100");
  }
}
