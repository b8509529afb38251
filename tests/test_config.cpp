// Tests of src/train/config: the one set of training rules every front end
// applies, the completed configuration, and the preprocessing a run uses.
#include <cmath>
#include <limits>
#include <string>

#include "core/errors.h"
#include "test_support.h"
#include "train/config.h"

using namespace pneumoscan;

namespace {
std::string rule_broken(const TrainConfig& config) {
  try {
    validate(config);
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST(Config, ValidateNamesTheBrokenRule) {
  EXPECT_EQ(rule_broken(TrainConfig{}), "");
  auto with = [](auto change) {
    TrainConfig c;
    change(c);
    return rule_broken(c);
  };
  EXPECT_NE(with([](TrainConfig& c) { c.epochs = 0; }).find("epochs and batch size"), std::string::npos);
  EXPECT_NE(with([](TrainConfig& c) { c.batch_size = -1; }).find("epochs and batch size"), std::string::npos);
  EXPECT_NE(with([](TrainConfig& c) { c.learning_rate = 0; }).find("learning rate"), std::string::npos);
  EXPECT_NE(with([](TrainConfig& c) { c.optimizer = "rmsprop"; }).find("unknown optimizer 'rmsprop'"),
            std::string::npos);
  EXPECT_NE(with([](TrainConfig& c) { c.target_sensitivity = 1.5; }).find("target sensitivity"),
            std::string::npos);
  EXPECT_NE(with([](TrainConfig& c) { c.label_smoothing = 1; }).find("label smoothing"), std::string::npos);
  EXPECT_NE(with([](TrainConfig& c) { c.sampling = "oversample"; }).find("unknown sampling 'oversample'"),
            std::string::npos);
  EXPECT_NE(with([](TrainConfig& c) { c.mixup_alpha = -0.2; }).find("mixup alpha"), std::string::npos);
  EXPECT_NE(with([](TrainConfig& c) { c.mixup_alpha = NAN; }).find("mixup alpha"), std::string::npos);
  EXPECT_EQ(with([](TrainConfig& c) { c.mixup_alpha = 0.2; }), "");
  EXPECT_NE(with([](TrainConfig& c) { c.augment.max_zoom = 0.6; }).find("zoom range"), std::string::npos);
  EXPECT_NE(with([](TrainConfig& c) { c.augment.max_zoom = -0.1; }).find("zoom range"), std::string::npos);
  EXPECT_EQ(with([](TrainConfig& c) { c.augment.max_zoom = 0.25; }), "");
  EXPECT_NE(with([](TrainConfig& c) { c.class_names = {"PNEUMONIA", "NORMAL"}; }), "");
  EXPECT_NE(with([](TrainConfig& c) {
              c.class_names = {"normal", "bacterial", "viral"};
              c.spec.num_outputs = 2;
            }).find("3 classes need 3 outputs"),
            std::string::npos);
  EXPECT_NE(with([](TrainConfig& c) { c.freeze = "all"; }).find("unknown freeze mode 'all'"),
            std::string::npos);
  EXPECT_NE(with([](TrainConfig& c) { c.unfreeze_after = 2; }).find("unfreeze-after needs freeze=features"),
            std::string::npos);
  EXPECT_NE(with([](TrainConfig& c) {
              c.preprocess.normalization = Normalization::kFixed;
              c.preprocess.std = {0.0f};
            }).find("std must be positive"),
            std::string::npos);
  EXPECT_NE(with([](TrainConfig& c) {
              c.preprocess.normalization = Normalization::kFixed;
              c.preprocess.mean = {0.485f, 0.456f, 0.406f};  // per channel, on a 1-channel small-cnn
            }).find("need 3 input channels"),
            std::string::npos);
}

TEST(Config, CompletedAndPreprocessing) {
  TrainConfig c;
  c.spec = {"resnet18", 0, 1, 0};
  c.class_names = {"normal", "bacterial", "viral"};
  c.preprocess.mean = {0.7f};  // ignored unless the normalisation is fixed
  const TrainConfig done = completed(c);
  EXPECT_EQ(done.class_names, (std::vector<std::string>{"NORMAL", "BACTERIAL", "VIRAL"}));
  EXPECT_EQ(done.spec.num_outputs, 3);
  EXPECT_EQ(done.spec.input_size, 224);
  EXPECT_EQ(done.model_name, "pneumoscan-resnet18");
  const PreprocessConfig p = training_preprocess(done);
  EXPECT_EQ(p.input_size, 224);
  EXPECT_EQ(p.channels, 1);
  EXPECT_EQ(p.mean, PreprocessConfig{}.mean);
  c.preprocess.normalization = Normalization::kFixed;
  EXPECT_EQ(training_preprocess(c).mean, std::vector<float>{0.7f});
  // The stored form keeps its flat keys (model files and checkpoints compare them).
  const nlohmann::json json = to_json(c);
  for (const char* key :
       {"normalization", "norm_mean", "norm_std", "class_names", "label_smoothing", "architecture"})
    EXPECT_TRUE(json.contains(key)) << key;
  EXPECT_FLOAT_EQ(json.at("norm_mean").get<float>(), 0.7f);
}

TEST(Config, FeaturesFrozenUntilTheUnfreezeEpoch) {
  TrainConfig c;
  EXPECT_FALSE(features_frozen(c, 1));
  c.freeze = "features";
  c.unfreeze_after = 3;
  EXPECT_TRUE(features_frozen(c, 2));
  EXPECT_FALSE(features_frozen(c, 3));
  c.unfreeze_after = 0;  // never
  EXPECT_TRUE(features_frozen(c, 100));
}

TEST(Config, BalancedSamplingReplacesClassWeightingAndNewSettingsAreStoredOnlyWhenUsed) {
  TrainConfig c;
  const nlohmann::json plain = to_json(completed(c));
  EXPECT_FALSE(plain.contains("sampling"));  // files written before the option still compare equal
  EXPECT_FALSE(plain.contains("mixup_alpha"));
  EXPECT_FALSE(plain.contains("ema_decay"));
  EXPECT_FALSE(plain.at("augment").contains("vendor_processing_probability"));
  EXPECT_TRUE(completed(c).class_weighting);

  c.sampling = "balanced";
  c.mixup_alpha = 0.3;
  c.ema_decay = 0.998;
  c.augment = augment_preset("strong");
  const TrainConfig done = completed(c);
  EXPECT_FALSE(done.class_weighting);
  const nlohmann::json json = to_json(done);
  EXPECT_EQ(json.at("sampling"), "balanced");
  EXPECT_DOUBLE_EQ(json.at("mixup_alpha").get<double>(), 0.3);
  EXPECT_DOUBLE_EQ(json.at("ema_decay").get<double>(), 0.998);
  EXPECT_DOUBLE_EQ(json.at("augment").at("vendor_processing_probability").get<double>(), 0.5);
  EXPECT_FALSE(json.at("class_weighting").get<bool>());
}

TEST(Config, ClassWeightScalesMultiplyTheWeightingAndAreStoredOnlyWhenUsed) {
  TrainConfig c;
  c.class_names = {"normal", "bacterial", "viral"};
  EXPECT_FALSE(to_json(completed(c)).contains("class_weight_scale"));
  c.class_weight_scale = {{"viral", 1.5}};
  const TrainConfig done = completed(c);
  EXPECT_EQ(done.class_weight_scale.count("VIRAL"), 1u);  // upper-cased like the class names
  // Inverse frequency for counts 100, 200, 100 (N / (K n_c)): 4/3, 2/3, 4/3; VIRAL times 1.5.
  const std::vector<double> weights = training_class_weights(done, {100, 200, 100});
  ASSERT_EQ(weights.size(), 3u);
  EXPECT_DOUBLE_EQ(weights[0], 4.0 / 3.0);
  EXPECT_DOUBLE_EQ(weights[1], 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(weights[2], 2.0);
  EXPECT_DOUBLE_EQ(to_json(done).at("class_weight_scale").at("VIRAL").get<double>(), 1.5);

  TrainConfig plain = done;
  plain.class_weighting = false;  // the scale multiplies 1 then
  EXPECT_EQ(training_class_weights(plain, {100, 200, 100}), (std::vector<double>{1.0, 1.0, 1.5}));
}

TEST(Config, ClassWeightScalesMustNameAClassAndBePositive) {
  TrainConfig c;
  c.class_names = {"normal", "bacterial", "viral"};
  c.class_weight_scale = {{"fungal", 2.0}};
  EXPECT_NE(rule_broken(c).find("'fungal', which is not one of the classes (NORMAL, BACTERIAL, VIRAL)"),
            std::string::npos);
  c.class_weight_scale = {{"VIRAL", 0.0}};
  EXPECT_NE(rule_broken(c).find("positive"), std::string::npos);
  c.class_weight_scale = {{"VIRAL", std::numeric_limits<double>::infinity()}};
  EXPECT_NE(rule_broken(c).find("positive"), std::string::npos);
  c.class_weight_scale = {{"VIRAL", 2.0}};
  EXPECT_EQ(rule_broken(c), "");
}

TEST(Config, FeatureLrScaleIsStoredOnlyWhenUsedAndMustBePositive) {
  TrainConfig c;
  EXPECT_FALSE(to_json(completed(c)).contains("feature_lr_scale"));  // older files compare equal
  c.feature_lr_scale = 0.1;
  EXPECT_DOUBLE_EQ(to_json(completed(c)).at("feature_lr_scale").get<double>(), 0.1);
  for (double bad : {0.0, -1.0, std::numeric_limits<double>::quiet_NaN()}) {
    c.feature_lr_scale = bad;
    EXPECT_NE(rule_broken(c).find("feature learning-rate scale must be a positive number"), std::string::npos);
  }
}
