// Integration: train the seed's small CNN briefly on real X-rays, check that
// it learns, that the model file is complete, and that resume continues.
#include <torch/torch.h>

#include <filesystem>

#include "core/errors.h"
#include "data/train_val.h"
#include "eval/evaluate.h"
#include "test_support.h"
#include "train/trainer.h"

using namespace pneumoscan;

namespace {
TrainConfig quick_config(int epochs) {
  TrainConfig config;
  config.spec = {"small-cnn", 128, 1, 1};
  config.epochs = epochs;
  config.batch_size = 32;
  config.show_progress = false;
  config.seed = 7;
  return config;
}
}  // namespace

TEST(Train, SmallCnnOnRealSubsetReachesAuc085) {
  PNEUMOSCAN_REQUIRE_SHARED(root, "data/chest_xray");
  TrainValSplit split = resolve_train_val(root, "", 0.15, 7);
  split.train = stratified_subset(split.train, 1000, 7);
  split.val = stratified_subset(split.val, 300, 7);
  test::TempDir dir;
  const std::string model_path = dir / "quick.psmodel";
  const TrainResult result = train_model(split.train, split.val, quick_config(3), model_path);

  EXPECT_GE(result.validation.roc_auc, 0.85);
  EXPECT_GE(result.validation.recall, 0.95 - 1e-9);  // the threshold was chosen for it
  EXPECT_EQ(result.history.size(), 3u);
  EXPECT_TRUE(std::filesystem::exists(log_csv_path(model_path)));
  EXPECT_TRUE(std::filesystem::exists(log_jsonl_path(model_path)));
  EXPECT_TRUE(std::filesystem::exists(checkpoint_path(model_path)));

  // The file carries what is needed to use it; evaluating it on the same
  // validation images reproduces the figures stored at training time.
  LoadedModel model = load_model(model_path);
  EXPECT_NEAR(model.metadata.threshold, result.validation.threshold, 1e-12);
  EXPECT_EQ(model.metadata.training.at("data").at("train_images"), split.train.size());
  const Evaluation evaluation = evaluate_model(model, split.val);
  EXPECT_NEAR(evaluation.metrics.roc_auc, result.validation.roc_auc, 1e-6);
  EXPECT_EQ(evaluation.metrics.tp, result.validation.tp);

  // Resume: continuing to 4 epochs from the checkpoint runs exactly one more.
  const TrainResult resumed = train_model(split.train, split.val, quick_config(4), model_path, true);
  EXPECT_EQ(resumed.history.size(), 4u);
  EXPECT_EQ(resumed.history[0].train_loss, result.history[0].train_loss);
}

TEST(Train, ResumeRefusesOtherSettings) {
  PNEUMOSCAN_REQUIRE_SHARED(root, "data/chest_xray");
  TrainValSplit split = resolve_train_val(root, "", 0.15, 7);
  split.train = stratified_subset(split.train, 64, 7);
  split.val = stratified_subset(split.val, 32, 7);
  test::TempDir dir;
  const std::string model_path = dir / "m.psmodel";
  TrainConfig config = quick_config(1);
  config.spec.input_size = 64;
  train_model(split.train, split.val, config, model_path);
  config.epochs = 2;
  config.spec.input_size = 96;
  EXPECT_THROW(train_model(split.train, split.val, config, model_path, true), UsageError);
}

TEST(Train, RunsAreReproducibleForASeed) {
  PNEUMOSCAN_REQUIRE_SHARED(root, "data/chest_xray");
  TrainValSplit split = resolve_train_val(root, "", 0.15, 3);
  split.train = stratified_subset(split.train, 96, 3);
  split.val = stratified_subset(split.val, 32, 3);
  test::TempDir dir;
  TrainConfig config = quick_config(1);
  config.spec.input_size = 64;
  const TrainResult a = train_model(split.train, split.val, config, dir / "a.psmodel");
  const TrainResult b = train_model(split.train, split.val, config, dir / "b.psmodel");
  EXPECT_DOUBLE_EQ(a.history[0].train_loss, b.history[0].train_loss);
  EXPECT_DOUBLE_EQ(a.history[0].val_loss, b.history[0].val_loss);
}

TEST(Train, ThreeClassesStoreTypesAndReportThem) {
  PNEUMOSCAN_REQUIRE_SHARED(root, "data/chest_xray");
  TrainValSplit split = resolve_train_val(root, "", 0.15, 5);
  split.train = stratified_subset(split.train, 120, 5);
  split.val = stratified_subset(split.val, 60, 5);
  test::TempDir dir;
  TrainConfig config = quick_config(1);
  config.spec.input_size = 64;
  config.class_names = {"normal", "bacterial", "viral"};
  config.label_smoothing = 0.1;
  const std::string model_path = dir / "three.psmodel";
  const TrainResult result = train_model(split.train, split.val, config, model_path);
  EXPECT_EQ(result.val_class_probabilities.size(), 3 * result.val_class_labels.size());

  LoadedModel model = load_model(model_path);
  EXPECT_EQ(model.metadata.class_names, (std::vector<std::string>{"NORMAL", "BACTERIAL", "VIRAL"}));
  EXPECT_EQ(model.metadata.spec.num_outputs, 3);
  EXPECT_TRUE(model.metadata.training.contains("validation_classes"));
  const Evaluation evaluation = evaluate_model(model, split.val);
  ASSERT_TRUE(evaluation.classes.has_value());
  int64_t total = 0;
  for (const auto& row : evaluation.classes->confusion)
    for (int64_t count : row) total += count;
  EXPECT_EQ(total, evaluation.classes->n);
  // The binary report agrees with the K x K one: predicted NORMAL column = tn + fn.
  int64_t predicted_normal = 0;
  for (const auto& row : evaluation.classes->confusion) predicted_normal += row[0];
  EXPECT_EQ(predicted_normal, evaluation.metrics.tn + evaluation.metrics.fn);

  // A pneumonia of unknown type cannot train a typed class list.
  std::vector<Sample> untyped = split.train;
  for (auto& s : untyped) s.pneumonia_type.clear();
  EXPECT_THROW(train_model(untyped, split.val, config, dir / "bad.psmodel"), InputError);
}
