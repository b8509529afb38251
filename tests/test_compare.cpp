// compare: entry grammar, and a tiny two-model study end to end (tables,
// plots, report with resolvable links, reuse of finished models on a rerun).
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <opencv2/imgcodecs.hpp>
#include <regex>
#include <set>
#include <sstream>

#include "compare/compare.h"
#include "core/atomic_file.h"
#include "core/errors.h"
#include "test_support.h"
#include "tfevents_check.h"

using namespace pneumoscan;
namespace fs = std::filesystem;

namespace {

TrainConfig base_config() {
  TrainConfig base;
  base.spec.input_size = 128;
  base.epochs = 10;
  return base;
}

std::string usage_error(const std::string& list) {
  try {
    parse_compare_entries(list, base_config(), 0);
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

std::vector<std::string> csv_header(const std::string& csv) {
  std::vector<std::string> fields;
  std::stringstream line(csv.substr(0, csv.find('\n')));
  std::string field;
  while (std::getline(line, field, ',')) fields.push_back(field);
  return fields;
}

}  // namespace

TEST(CompareEntry, ParsesOverridesAndMarksAReducedBudget) {
  const auto entries = parse_compare_entries(
      "small-cnn,resnet18:name=r18-small:size=96:epochs=3:limit=500:lr=0.0005:batch=16:freeze-bn-stats=true",
      base_config(), 0);
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].label, "small-cnn");
  EXPECT_TRUE(entries[0].budget.empty());
  EXPECT_EQ(entries[0].config.spec.input_size, 128);
  const CompareEntry& r = entries[1];
  EXPECT_EQ(r.label, "r18-small");
  EXPECT_EQ(r.config.spec.architecture, "resnet18");
  EXPECT_EQ(r.config.spec.input_size, 96);
  EXPECT_EQ(r.config.epochs, 3);
  EXPECT_EQ(r.config.batch_size, 16);
  EXPECT_DOUBLE_EQ(r.config.learning_rate, 0.0005);
  EXPECT_TRUE(r.config.freeze_batchnorm_stats);
  EXPECT_EQ(r.limit, 500);
  EXPECT_EQ(r.budget, (std::vector<std::string>{"size 96", "epochs 3", "limit 500"}));
  EXPECT_EQ(r.settings, (std::vector<std::string>{"lr=0.0005", "batch=16", "freeze-bn-stats=true"}));
}

TEST(CompareEntry, SameValuesAsTheCommandAreNoReducedBudget) {
  const auto entry = parse_compare_entry("small-cnn:size=128:epochs=10:limit=200", base_config(), 200);
  EXPECT_TRUE(entry.budget.empty());
  // Command-wide size 0 = each architecture's default (224 for resnet18).
  TrainConfig defaults;
  EXPECT_TRUE(parse_compare_entry("resnet18:size=224", defaults, 0).budget.empty());
  EXPECT_EQ(parse_compare_entry("resnet18:size=112", defaults, 0).budget,
            std::vector<std::string>{"size 112"});
}

TEST(CompareEntry, NormalisationAndTransferKeys) {
  const auto entry = parse_compare_entry(
      "mobilenet-v2:freeze=features:unfreeze-after=3:norm=fixed:norm-mean=0.5:norm-std=0.5", base_config(),
      0);
  EXPECT_EQ(entry.config.freeze, "features");
  EXPECT_EQ(entry.config.unfreeze_after, 3);
  EXPECT_EQ(entry.config.preprocess.normalization, Normalization::kFixed);
  EXPECT_EQ(entry.config.preprocess.mean, std::vector<float>{0.5f});
  EXPECT_EQ(entry.config.preprocess.std, std::vector<float>{0.5f});
  // A per-channel preset selects 3 channels, whatever the order of the keys.
  const auto imagenet = parse_compare_entry("resnet50-v1:norm=imagenet", base_config(), 0);
  EXPECT_EQ(imagenet.config.preprocess.normalization, Normalization::kFixed);
  EXPECT_EQ(imagenet.config.preprocess.mean, (std::vector<float>{0.485f, 0.456f, 0.406f}));
  EXPECT_EQ(imagenet.config.spec.in_channels, 3);
  // ... and an explicit single channel contradicts it (no exact 1-channel form exists).
  EXPECT_THROW(parse_compare_entry("resnet18:channels=1:norm=imagenet", base_config(), 0), UsageError);
  EXPECT_EQ(parse_compare_entry("resnet18:channels=3", base_config(), 0).config.spec.in_channels, 3);
}

TEST(CompareEntry, BadEntriesAreUsageErrorsNamingTheEntry) {
  EXPECT_NE(usage_error("small-cnn,resnet99").find("'resnet99'"), std::string::npos)
      << usage_error("resnet99");
  EXPECT_NE(
      usage_error("small-cnn:colour=red").find("compare entry 'small-cnn:colour=red': unknown key 'colour'"),
      std::string::npos);
  EXPECT_NE(usage_error("small-cnn:epochs=two").find("epochs needs a number"), std::string::npos);
  EXPECT_NE(usage_error("small-cnn:epochs").find("not key=value"), std::string::npos);
  EXPECT_NE(usage_error("small-cnn,small-cnn").find("taken by another entry"), std::string::npos);
  EXPECT_NE(usage_error("small-cnn:name=../x").find("may hold only"), std::string::npos);
  EXPECT_NE(usage_error("small-cnn:norm=fancy").find("unknown normalization"), std::string::npos);
  EXPECT_NE(usage_error("small-cnn:norm-mean=0.5").find("norm=fixed only"), std::string::npos);
  EXPECT_NE(usage_error("small-cnn:channels=2").find("channels is 1 or 3"), std::string::npos);
  EXPECT_NE(usage_error("small-cnn:pretrained=/no/such.pt").find("does not exist"), std::string::npos);
  EXPECT_NE(usage_error("small-cnn:unfreeze-after=2").find("needs freeze=features"), std::string::npos);
  EXPECT_NE(usage_error("small-cnn,,resnet18").find("empty entry"), std::string::npos);
}

TEST(CompareCli, TwoSmallModelsTablePlotsReportAndReuse) {
  PNEUMOSCAN_REQUIRE_SHARED(data, "data/chest_xray");
  test::TempDir dir;
  const std::string out = dir / "study";
  const std::string args = "compare --archs small-cnn,alexnet-small:name=alex:epochs=1 --data " + data +
                           " --out " + out +
                           " --epochs 2 --patience 1 --image-size 64 --limit 100 --no-progress";
  const std::string logdir = dir / "runs";
  const test::CommandResult first = test::run_cli(args + " --logdir " + logdir);
  ASSERT_EQ(first.exit_code, 0) << first.output;

  const std::string csv = read_file(out + "/comparison.csv");
  EXPECT_EQ(csv_header(csv),
            (std::vector<std::string>{"label",      "architecture",  "image_size",       "budget",
                                      "settings",   "epochs_run",    "max_epochs",       "best_epoch",
                                      "parameters", "multiply_adds", "training_seconds", "seconds_per_epoch",
                                      "accuracy",   "precision",     "recall",           "specificity",
                                      "f1",         "roc_auc",       "pr_auc",           "threshold",
                                      "model"}));
  EXPECT_NE(csv.find("\nsmall-cnn,small-cnn,64,full,,"), std::string::npos) << csv;
  EXPECT_NE(csv.find("\nalex,alexnet-small,64,own: epochs 1,,1,1,1,"), std::string::npos) << csv;
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 3);
  const std::string md = read_file(out + "/comparison.md");
  for (const char* column : {"| label |", "| budget |", "| multiply-adds |", "| training time |",
                             "| ROC AUC |", "| recall (sensitivity) |", "| model file |"})
    EXPECT_NE(md.find(column), std::string::npos) << column;
  EXPECT_NE(md.find("| alex | alexnet-small | 64 | own: epochs 1 |"), std::string::npos) << md;
  EXPECT_NE(md.find("[models/small-cnn.psmodel](models/small-cnn.psmodel)"), std::string::npos) << md;

  for (const std::string label : {"small-cnn", "alex"}) {
    EXPECT_TRUE(fs::exists(out + "/models/" + label + ".psmodel")) << label;
    EXPECT_TRUE(fs::exists(out + "/models/" + label + ".psmodel.log.csv")) << label;
    for (const std::string plot : {"_loss", "_accuracy", "_roc", "_pr", "_confusion", "_calibration"})
      EXPECT_TRUE(fs::exists(out + "/plots/" + label + plot + ".png")) << label << plot;
  }
  // Each entry trained wrote TensorBoard events to LOGDIR/<label>: every epoch, the config, the final curves.
  for (const auto& [label, epochs] :
       std::vector<std::pair<std::string, size_t>>{{"small-cnn", 2}, {"alex", 1}}) {
    std::map<std::string, size_t> values;
    for (const auto& file : fs::directory_iterator(fs::path(logdir) / label))
      if (file.path().filename().string().rfind("events.out.tfevents.", 0) == 0)
        for (const auto& event : test::read_events_independently(file.path().string()))
          for (const auto& value : event.values) ++values[value.tag];
    EXPECT_EQ(values["epoch/val_loss"], epochs) << label;
    EXPECT_EQ(values["config"], 1u) << label;
    EXPECT_EQ(values["curves/roc"], 1u) << label;
  }
  const std::string html = read_file(out + "/report.html");
  const std::regex link(R"((?:src|href)=\"([^\"]+)\")");
  std::set<std::string> links;
  for (auto it = std::sregex_iterator(html.begin(), html.end(), link); it != std::sregex_iterator(); ++it)
    links.insert((*it)[1]);
  EXPECT_GE(links.size(), 2u + 2 * 6 + 2);  // combined ROC/PR, 6 plots per model, 2 model files
  for (const auto& target : links) {
    EXPECT_EQ(target.find(':'), std::string::npos) << "not a relative link: " << target;
    EXPECT_TRUE(fs::exists(fs::path(out) / target)) << target;
    if (target.size() > 4 && target.substr(target.size() - 4) == ".png") {
      const cv::Mat image = cv::imread((fs::path(out) / target).string());
      ASSERT_FALSE(image.empty()) << target;
      EXPECT_EQ(image.cols, 800) << target;
      EXPECT_EQ(image.rows, 600) << target;
      EXPECT_GT(fs::file_size(fs::path(out) / target), 10000u) << target;
    }
  }
  EXPECT_TRUE(links.count("plots/all_roc.png"));

  // A rerun reuses both finished models.
  const auto model_time = fs::last_write_time(out + "/models/small-cnn.psmodel");
  const test::CommandResult second = test::run_cli(args);
  ASSERT_EQ(second.exit_code, 0) << second.output;
  EXPECT_NE(second.output.find("reusing " + out + "/models/small-cnn.psmodel"), std::string::npos)
      << second.output;
  EXPECT_NE(second.output.find("reusing " + out + "/models/alex.psmodel"), std::string::npos)
      << second.output;
  EXPECT_EQ(second.output.find("epoch 1/"), std::string::npos) << second.output;
  EXPECT_EQ(fs::last_write_time(out + "/models/small-cnn.psmodel"), model_time);
  EXPECT_EQ(read_file(out + "/comparison.csv"), csv);  // same models, same validation images

  // Only a checkpoint left (interrupted before the model was written): resumed, not retrained.
  fs::remove(out + "/models/alex.psmodel");
  const test::CommandResult third = test::run_cli(args + " --no-plots");
  ASSERT_EQ(third.exit_code, 0) << third.output;
  EXPECT_NE(third.output.find("resuming from " + out + "/models/alex.psmodel.ckpt"), std::string::npos)
      << third.output;
  EXPECT_EQ(third.output.find("epoch 1/"), std::string::npos) << third.output;
  EXPECT_EQ(read_file(out + "/comparison.csv"), csv);
}

TEST(CompareCli, BadEntryIsAOneLineUsageError) {
  test::TempDir dir;
  const test::CommandResult result = test::run_cli("compare --archs small-cnn:depth=3 --data " +
                                                   dir.path.string() + " --out " + (dir / "o"));
  EXPECT_NE(result.exit_code, 0);
  EXPECT_NE(result.output.find("compare entry 'small-cnn:depth=3': unknown key 'depth'"), std::string::npos)
      << result.output;
}
