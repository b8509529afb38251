// Plots on synthetic data: every PNG decodes, has the agreed size and real
// content; the HTML report links only relative, existing files.
#include <filesystem>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <random>
#include <thread>

#include "core/atomic_file.h"
#include "core/errors.h"
#include "file_size_limit.h"
#include "report/html.h"
#include "report/plots.h"
#include "test_support.h"

using namespace pneumoscan;
namespace fs = std::filesystem;

namespace {

// 200 scores, positives drawn higher than negatives.
ScoredSet synthetic_scores(const std::string& name, double separation, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> noise(0.0, 1.0);
  ScoredSet set{name, {}, {}};
  for (int i = 0; i < 200; ++i) {
    const int label = i % 3 == 0 ? 0 : 1;
    const double logit = (label ? separation : -separation) + noise(rng);
    set.probabilities.push_back(static_cast<float>(1.0 / (1.0 + std::exp(-logit))));
    set.labels.push_back(label);
  }
  return set;
}

std::vector<EpochRecord> synthetic_history(int epochs) {
  std::vector<EpochRecord> history;
  for (int e = 1; e <= epochs; ++e) {
    EpochRecord r;
    r.epoch = e;
    r.train_loss = 0.7 / e;
    r.val_loss = 0.6 / e + 0.02 * e;
    r.train_accuracy = 1.0 - 0.3 / e;
    r.val_accuracy = 0.95 - 0.25 / e;
    r.val_roc_auc = 0.97 - 0.1 / e;
    r.best = e == 3;
    history.push_back(r);
  }
  return history;
}

// Decodes, is 800x600, is not a blank page and has colour where `coloured`.
void expect_real_plot(const std::string& path, bool coloured = true) {
  const cv::Mat image = cv::imread(path, cv::IMREAD_COLOR);
  ASSERT_FALSE(image.empty()) << path;
  EXPECT_EQ(image.cols, 800) << path;
  EXPECT_EQ(image.rows, 600) << path;
  EXPECT_GT(fs::file_size(path), 10000u) << path;
  cv::Mat gray;
  cv::Scalar mean, stddev;
  cv::meanStdDev(image, mean, stddev);
  EXPECT_GT(stddev[0], 10.0) << path << " looks blank";
  EXPECT_GT(mean[0], 128.0) << path << " should have a white background";
  if (coloured) {
    cv::Mat channels[3];
    cv::split(image, channels);
    cv::Mat difference;
    cv::absdiff(channels[0], channels[2], difference);
    EXPECT_GT(cv::countNonZero(difference > 40), 200) << path << " has no coloured curves or cells";
  }
}

}  // namespace

TEST(Plots, EvaluationAndTrainingPlotsAreRealPngs) {
  test::TempDir dir;
  const ScoredSet set = synthetic_scores("synthetic", 1.5, 1);
  const BinaryMetrics metrics = compute_metrics(set.probabilities, set.labels, 0.5);
  auto plots = write_evaluation_plots(dir.path.string(), "m", "Synthetic model", set, metrics);
  const auto training = write_training_plots(dir.path.string(), "m", "Synthetic model", synthetic_history(6));
  plots.insert(plots.end(), training.begin(), training.end());
  ASSERT_EQ(plots.size(), 6u);
  for (const auto& plot : plots) {
    EXPECT_FALSE(plot.caption.empty());
    expect_real_plot(plot.path);
  }
  for (const auto& entry : fs::directory_iterator(dir.path))  // no temporaries left behind
    EXPECT_EQ(entry.path().extension(), ".png") << entry.path();
}

TEST(Plots, CombinedRocAndSingleEpochHistory) {
  test::TempDir dir;
  plot_roc(
      dir / "roc.png", "Three models",
      {synthetic_scores("weak", 0.3, 1), synthetic_scores("good", 1.5, 2), synthetic_scores("great", 3, 3)});
  expect_real_plot(dir / "roc.png");
  plot_loss_curves(dir / "loss.png", "One epoch", synthetic_history(1));
  expect_real_plot(dir / "loss.png");
}

TEST(Plots, ConcurrentWritersDoNotInterfere) {
  test::TempDir dir;
  const ScoredSet set = synthetic_scores("s", 1.0, 4);
  std::vector<std::thread> threads;
  for (int i = 0; i < 3; ++i)
    threads.emplace_back(
        [&, i] { plot_calibration(dir / ("cal" + std::to_string(i) + ".png"), "Calibration", set); });
  for (auto& t : threads) t.join();
  for (int i = 0; i < 3; ++i) expect_real_plot(dir / ("cal" + std::to_string(i) + ".png"));
}

TEST(Plots, RefusesWhatCannotBeDrawn) {
  test::TempDir dir;
  const ScoredSet only_positives{"p", {0.2f, 0.9f}, {1, 1}};
  EXPECT_THROW(plot_roc(dir / "roc.png", "t", {only_positives}), UsageError);
  EXPECT_THROW(plot_loss_curves(dir / "loss.png", "t", {}), UsageError);
  EXPECT_FALSE(fs::exists(dir / "roc.png"));
  // Evaluation plots skip ROC/PR for a one-class set but still draw the rest.
  const auto plots =
      write_evaluation_plots(dir.path.string(), "p", "t", only_positives,
                             compute_metrics(only_positives.probabilities, only_positives.labels, 0.5));
  EXPECT_EQ(plots.size(), 2u);
}

TEST(HtmlReport, RelativeLinksEscapingAndMarkdown) {
  test::TempDir dir;
  const ScoredSet set = synthetic_scores("s", 1.0, 5);
  plot_calibration(dir / "plots/cal.png", "Calibration", set);
  Table table{{"label", "AUC", "model"}, {{"a<b", "0.9", "models/a.psmodel"}}, 2};
  write_html_report(dir / "report.html", "R & D", {"one <para>"}, table,
                    {{"Section", {{dir / "plots/cal.png", "Calibration"}}}});
  const std::string html = read_file(dir / "report.html");
  EXPECT_NE(html.find("<img src=\"plots/cal.png\""), std::string::npos) << html;
  EXPECT_NE(html.find("<a href=\"models/a.psmodel\">"), std::string::npos);
  EXPECT_NE(html.find("R &amp; D"), std::string::npos);
  EXPECT_NE(html.find("a&lt;b"), std::string::npos);
  EXPECT_NE(html.find("one &lt;para&gt;"), std::string::npos);
  EXPECT_EQ(html.find("http"), std::string::npos);
  EXPECT_THROW(
      write_html_report(dir / "sub/report.html", "t", {}, table, {{"S", {{dir / "plots/cal.png", "c"}}}}),
      UsageError);
  EXPECT_EQ(markdown_table(table),
            "| label | AUC | model |\n|---|---|---|\n| a<b | 0.9 | [models/a.psmodel](models/a.psmodel) |\n");
}

TEST(HtmlReport, FullFileSystemKeepsThePreviousReportAndPlot) {
  test::TempDir dir;
  const ScoredSet set = synthetic_scores("s", 1.0, 5);
  plot_calibration(dir / "cal.png", "Calibration", set);
  const std::string previous_plot = read_file(dir / "cal.png");
  Table table{{"label", "AUC"}, {{"a", "0.9"}}, 1};
  write_html_report(dir / "report.html", "first", {}, table, {});
  const std::string previous = read_file(dir / "report.html");
  table.rows.assign(2000, {"a long row of the second report", "0.9"});
  {
    const test::FileSizeLimit limit(previous.size() + 512);
    EXPECT_THROW(write_html_report(dir / "report.html", "second", {}, table, {}), IoError);
    try {
      plot_calibration(dir / "cal.png", "Calibration again", synthetic_scores("t", 0.5, 6));
      FAIL() << "a plot larger than the file size limit was written";
    } catch (const IoError& e) {
      EXPECT_EQ(std::string(e.what()).rfind(dir / "cal.png: write failed: ", 0), 0u) << e.what();
    }
  }
  EXPECT_EQ(read_file(dir / "report.html"), previous);
  EXPECT_EQ(read_file(dir / "cal.png"), previous_plot);
  EXPECT_EQ(test::file_names(dir.path), (std::vector<std::string>{"cal.png", "report.html"}));
}

TEST(PlotsCli, TrainAndEvaluateWritePlots) {
  PNEUMOSCAN_REQUIRE_SHARED(data, "data/chest_xray");
  test::TempDir dir;
  const test::CommandResult train =
      test::run_cli("train --data " + data + " --out " + (dir / "tiny.psmodel") +
                    " --image-size 64 --epochs 1 --limit 64 --no-progress --plots " + (dir / "train_plots"));
  ASSERT_EQ(train.exit_code, 0) << train.output;
  for (const char* plot : {"loss", "accuracy", "roc", "pr", "confusion", "calibration"})
    expect_real_plot(dir / ("train_plots/tiny_" + std::string(plot) + ".png"));
  const test::CommandResult evaluate =
      test::run_cli("evaluate --model " + (dir / "tiny.psmodel") + " --data " + data +
                    " --split val --plots " + (dir / "eval_plots"));
  ASSERT_EQ(evaluate.exit_code, 0) << evaluate.output;
  for (const char* plot : {"roc", "pr", "confusion", "calibration"})
    expect_real_plot(dir / ("eval_plots/tiny_" + std::string(plot) + ".png"));
  EXPECT_FALSE(fs::exists(dir / "eval_plots/tiny_loss.png"));
}
