// train/optimizer_state: optimiser state restored from a checkpoint read as data.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>

#include "archive_support.h"
#include "core/errors.h"
#include "model_file/archive.h"
#include "models/torch_archive.h"
#include "test_support.h"
#include "train/optimizer_state.h"

using namespace pneumoscan;

namespace {

// Two parameters, a few steps taken so every state tensor is non-trivial.
std::vector<torch::Tensor> parameters(int64_t width = 3) {
  torch::manual_seed(5);
  return {torch::randn({width, 2}).requires_grad_(), torch::randn({width}).requires_grad_()};
}

void take_steps(torch::optim::Optimizer& optimizer, const std::vector<torch::Tensor>& params) {
  for (int step = 0; step < 3; ++step) {
    optimizer.zero_grad();
    torch::Tensor loss = torch::zeros({});
    for (const auto& p : params) loss = loss + (p * p * (step + 1)).sum();
    loss.backward();
    optimizer.step();
  }
}

// What a checkpoint holds: the optimiser saved as a nested archive.
c10::IValue saved_as_data(torch::optim::Optimizer& optimizer, const test::TempDir& dir) {
  torch::serialize::OutputArchive archive, nested;
  optimizer.save(nested);
  archive.write("optimizer", nested);
  const std::string path = dir / "state.ckpt";
  save_archive(archive, path);
  return archive_attribute(read_archive_value(path, "checkpoint", "not a checkpoint"), "optimizer");
}

std::string restore_error(const c10::IValue& saved, torch::optim::Optimizer& optimizer) {
  try {
    restore_optimizer_state(saved, optimizer, "run.ckpt");
  } catch (const ModelFileError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(OptimizerState, AdamStateComesBackAndTheNextStepIsTheSame) {
  test::TempDir dir;
  for (bool amsgrad : {false, true}) {
    auto params = parameters();
    torch::optim::Adam adam(params, torch::optim::AdamOptions(0.1).amsgrad(amsgrad));
    take_steps(adam, params);
    const c10::IValue saved = saved_as_data(adam, dir);

    std::vector<torch::Tensor> copies;
    for (const auto& p : params) copies.push_back(p.detach().clone().requires_grad_());
    torch::optim::Adam resumed(copies, torch::optim::AdamOptions(0.1).amsgrad(amsgrad));
    restore_optimizer_state(saved, resumed, "run.ckpt");
    for (size_t i = 0; i < params.size(); ++i) {
      const auto& a = static_cast<torch::optim::AdamParamState&>(
          *adam.state().at(c10::guts::to_string(params[i].unsafeGetTensorImpl())));
      const auto& b = static_cast<torch::optim::AdamParamState&>(
          *resumed.state().at(c10::guts::to_string(copies[i].unsafeGetTensorImpl())));
      EXPECT_EQ(a.step(), b.step());
      EXPECT_TRUE(torch::equal(a.exp_avg(), b.exp_avg()));
      EXPECT_TRUE(torch::equal(a.exp_avg_sq(), b.exp_avg_sq()));
      EXPECT_EQ(a.max_exp_avg_sq().defined(), amsgrad);
      if (amsgrad) EXPECT_TRUE(torch::equal(a.max_exp_avg_sq(), b.max_exp_avg_sq()));
    }
    take_steps(adam, params);
    take_steps(resumed, copies);
    for (size_t i = 0; i < params.size(); ++i) EXPECT_TRUE(torch::equal(params[i], copies[i])) << amsgrad;
  }
}

TEST(OptimizerState, AdamWAndSgdMomentumComeBack) {
  test::TempDir dir;
  auto params = parameters();
  torch::optim::AdamW adamw(params, torch::optim::AdamWOptions(0.05).weight_decay(0.01));
  take_steps(adamw, params);
  auto copies = std::vector<torch::Tensor>{params[0].detach().clone().requires_grad_(),
                                           params[1].detach().clone().requires_grad_()};
  torch::optim::AdamW resumed(copies, torch::optim::AdamWOptions(0.05).weight_decay(0.01));
  restore_optimizer_state(saved_as_data(adamw, dir), resumed, "run.ckpt");
  take_steps(adamw, params);
  take_steps(resumed, copies);
  for (size_t i = 0; i < params.size(); ++i) EXPECT_TRUE(torch::equal(params[i], copies[i]));

  torch::optim::SGD sgd(params, torch::optim::SGDOptions(0.01).momentum(0.9));
  take_steps(sgd, params);
  torch::optim::SGD sgd_resumed(copies, torch::optim::SGDOptions(0.01).momentum(0.9));
  copies[0].detach().copy_(params[0].detach());
  copies[1].detach().copy_(params[1].detach());
  restore_optimizer_state(saved_as_data(sgd, dir), sgd_resumed, "run.ckpt");
  take_steps(sgd, params);
  take_steps(sgd_resumed, copies);
  for (size_t i = 0; i < params.size(); ++i) EXPECT_TRUE(torch::equal(params[i], copies[i]));
}

TEST(OptimizerState, StateThatDoesNotFitTheRunIsRefusedAndNothingChanges) {
  test::TempDir dir;
  auto params = parameters(3);
  torch::optim::Adam adam(params, torch::optim::AdamOptions(0.1));
  take_steps(adam, params);
  const c10::IValue saved = saved_as_data(adam, dir);

  auto wider = parameters(4);  // another architecture: same count, other shapes
  torch::optim::Adam other(wider, torch::optim::AdamOptions(0.1));
  const std::string message = restore_error(saved, other);
  EXPECT_EQ(message,
            "run.ckpt: damaged checkpoint: the optimizer state of parameter 0 of group 0 'exp_avg' has shape "
            "[3, 2], the parameter [4, 2]; train without --resume");
  EXPECT_TRUE(other.state().empty()) << "a refused state leaves the optimizer as it was";

  torch::optim::Adam fewer(std::vector<torch::Tensor>{params[0]}, torch::optim::AdamOptions(0.1));
  EXPECT_NE(restore_error(saved, fewer).find("has 2 parameters in group 0, this run 1"), std::string::npos);

  EXPECT_NE(restore_error(c10::IValue(), adam).find("optimizer state is missing"), std::string::npos);

  torch::optim::RMSprop rmsprop(params, torch::optim::RMSpropOptions(0.1));
  EXPECT_THROW(restore_optimizer_state(saved, rmsprop, "run.ckpt"), UsageError);
}

// fuzz/fuzz_checkpoint's finding (session 18, at 1,020,652 executions): the
// group and parameter counts are one-element tensors; with their records
// emptied, item() threw from inside LibTorch (std::terminate in the harness).
TEST(OptimizerState, CountsWhoseRecordsAreEmptyAreRefused) {
  test::TempDir dir;
  auto params = parameters();
  torch::optim::Adam adam(params, torch::optim::AdamOptions(0.1));
  take_steps(adam, params);
  (void)saved_as_data(adam, dir);  // writes dir/state.ckpt
  int emptied = 0;
  test::rewrite_archive(dir / "state.ckpt", dir / "emptied.ckpt",
                        [&](const std::string& name, std::string& bytes) {
                          if (name.rfind("data/", 0) == 0 && bytes.size() == sizeof(int64_t)) {
                            bytes.clear();
                            ++emptied;
                          }
                          return true;
                        });
  ASSERT_GT(emptied, 0);
  try {
    read_archive_value(dir / "emptied.ckpt", "checkpoint", "not a checkpoint");
    FAIL() << "emptied step counts were read";
  } catch (const ModelFileError& e) {
    EXPECT_NE(std::string(e.what()).find("needs 8 bytes, the file holds 0 (emptied or cut short)"),
              std::string::npos)
        << e.what();
  }
}
