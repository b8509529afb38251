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
  EXPECT_LT(negative_log_likelihood(reported, labels, t), negative_log_likelihood(reported, labels, 1.0) - 0.05);
}

TEST(Calibration, SigmoidLogitsAndBadInput) {
  torch::manual_seed(12);
  const torch::Tensor z = torch::randn({3000, 1}) * 2;
  const torch::Tensor labels = torch::bernoulli(torch::sigmoid(z)).squeeze(1).to(torch::kInt64);
  const double t = fit_temperature(z * 0.5, labels);  // under-confident: T below 1
  EXPECT_NEAR(t, 0.5, 0.08);
  EXPECT_THROW(fit_temperature(torch::zeros({0, 2}), torch::zeros({0}, torch::kInt64)), UsageError);
  EXPECT_THROW(negative_log_likelihood(torch::zeros({4, 2}), torch::zeros({3}, torch::kInt64), 1.0), UsageError);
}
