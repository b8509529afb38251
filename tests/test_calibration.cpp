// Tests of src/eval/calibration: temperature scaling on synthetic logits.
#include <torch/torch.h>

#include "core/errors.h"
#include "eval/calibration.h"
#include "test_support.h"

using namespace pneumoscan;

// Labels drawn from softmax(z); the network reports 3 z (over-confident).
// The fitted temperature must undo that (about 3) and lower the NLL.
TEST(Calibration, TemperatureUndoesOverconfidence) {
  torch::manual_seed(11);
  const int64_t n = 4000;
  const torch::Tensor z = torch::randn({n, 3}) * 1.5;
  const torch::Tensor labels = torch::multinomial(torch::softmax(z, 1), 1).squeeze(1);
  const torch::Tensor reported = z * 3;
  const double t = fit_temperature(reported, labels);
  EXPECT_NEAR(t, 3.0, 0.3);
  EXPECT_LT(negative_log_likelihood(reported, labels, t),
            negative_log_likelihood(reported, labels, 1.0) - 0.05);
}

TEST(Calibration, SigmoidLogitsAndBadInput) {
  torch::manual_seed(12);
  const torch::Tensor z = torch::randn({3000, 1}) * 2;
  const torch::Tensor labels = torch::bernoulli(torch::sigmoid(z)).squeeze(1).to(torch::kInt64);
  const double t = fit_temperature(z * 0.5, labels);  // under-confident: T below 1
  EXPECT_NEAR(t, 0.5, 0.08);
  EXPECT_THROW(fit_temperature(torch::zeros({0, 2}), torch::zeros({0}, torch::kInt64)), UsageError);
  EXPECT_THROW(negative_log_likelihood(torch::zeros({4, 2}), torch::zeros({3}, torch::kInt64), 1.0),
               UsageError);
}

// Class weighting shifts the prior: logits z + log w. Temperature alone cannot
// undo that; temperature + bias recovers the shift (b[c] - b[0] = -(log w_c - log w_0)).
TEST(Calibration, BiasUndoesAPriorShift) {
  torch::manual_seed(13);
  const int64_t n = 6000;
  const torch::Tensor z = torch::randn({n, 3}) * 2;
  const torch::Tensor labels = torch::multinomial(torch::softmax(z, 1), 1).squeeze(1);
  const torch::Tensor shifted = z + torch::tensor({1.0f, -0.5f, 0.0f});
  const OutputCalibration c = fit_output_calibration(shifted, labels);
  ASSERT_EQ(c.class_bias.size(), 3u);
  EXPECT_NEAR(c.temperature, 1.0, 0.1);
  EXPECT_NEAR(c.class_bias[1] - c.class_bias[0], 1.5, 0.2);
  EXPECT_NEAR(c.class_bias[2] - c.class_bias[0], 1.0, 0.2);
  const torch::Tensor bias = torch::tensor(std::vector<double>(c.class_bias), torch::kFloat64);
  EXPECT_LT(negative_log_likelihood(shifted.to(torch::kFloat64) / c.temperature + bias, labels, 1.0),
            negative_log_likelihood(shifted, labels, fit_temperature(shifted, labels)) - 0.01);
}
