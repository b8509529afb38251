// Tests of src/models/output: what a network's logits mean.
#include <torch/torch.h>

#include <cmath>

#include "models/output.h"
#include "test_support.h"

using namespace pneumoscan;

TEST(Output, ProbabilityFromOneOrTwoOutputs) {
  EXPECT_NEAR(pneumonia_probability(torch::tensor({{0.0f}}))[0].item<double>(), 0.5, 1e-7);
  EXPECT_NEAR(pneumonia_probability(torch::tensor({{0.0f, std::log(3.0f)}}))[0].item<double>(), 0.75, 1e-6);
  EXPECT_THROW(pneumonia_probability(torch::zeros({2})), c10::Error);
}

TEST(Output, PneumoniaProbabilityOfThreeClassesIsOneMinusNormal) {
  // softmax(0, log 2, log 5) = (1/8, 2/8, 5/8).
  const torch::Tensor logits = torch::tensor({{0.0f, std::log(2.0f), std::log(5.0f)}});
  EXPECT_NEAR(pneumonia_probability(logits)[0].item<double>(), 7.0 / 8.0, 1e-6);
  const torch::Tensor p = class_probabilities(logits);
  EXPECT_NEAR(p[0][2].item<double>(), 5.0 / 8.0, 1e-6);
  EXPECT_NEAR(class_probabilities(torch::tensor({{0.0f}}))[0][1].item<double>(), 0.5, 1e-7);
}
