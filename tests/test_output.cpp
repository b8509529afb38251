// Tests of src/models/output: what a network's logits mean.
#include <torch/torch.h>

#include <cmath>

#include "models/output.h"
#include "test_support.h"

using namespace pneumoscan;

TEST(Output, ProbabilityFromOneOrTwoOutputs) {
  EXPECT_NEAR(pneumonia_probability(torch::tensor({{0.0f}}))[0].item<double>(), 0.5, 1e-7);
  EXPECT_NEAR(pneumonia_probability(torch::tensor({{0.0f, std::log(3.0f)}}))[0].item<double>(), 0.75, 1e-6);
  EXPECT_THROW(pneumonia_probability(torch::zeros({2, 3})), c10::Error);
}
