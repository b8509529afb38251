#include "report/plots.h"

#include <plplot/plplot.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>

#include "core/atomic_file.h"
#include "core/errors.h"
#include "core/text.h"

namespace pneumoscan {
namespace {

constexpr int kWidth = 800, kHeight = 600;
// Colour map 0 indices set by use_palette().
constexpr int kBackground = 0, kInk = 1, kGrid = 2, kReference = 3, kFirstSeries = 4, kSeriesColours = 10,
              kCellColour = 15;
constexpr unsigned char kSeries[kSeriesColours][3] = {
    {31, 119, 180}, {255, 127, 14},  {44, 160, 44},   {214, 39, 40},  {148, 103, 189},
    {140, 86, 75},  {227, 119, 194}, {127, 127, 127}, {188, 189, 34}, {23, 190, 207}};

std::mutex& plplot_mutex() {
  static std::mutex mutex;
  return mutex;
}

void use_palette() {
  plscmap0n(16);
  plscol0(kBackground, 255, 255, 255);
  plscol0(kInk, 30, 30, 30);
  plscol0(kGrid, 215, 215, 215);
  plscol0(kReference, 120, 120, 120);
  for (int i = 0; i < kSeriesColours; ++i)
    plscol0(kFirstSeries + i, kSeries[i][0], kSeries[i][1], kSeries[i][2]);
}

int series_colour(size_t i) { return kFirstSeries + static_cast<int>(i % kSeriesColours); }
// Past the ten colours, curves repeat them dashed (PLplot line styles 2-8), so
// that no two curves of one plot look the same.
int series_style(size_t i) {
  return i < kSeriesColours ? 1 : 2 + static_cast<int>((i / kSeriesColours - 1) % 7);
}

// Draws one page into `path` (atomically) with a fresh PLplot stream.
template <typename Draw>
void render(const std::string& path, Draw draw) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent);
  std::lock_guard<std::mutex> lock(plplot_mutex());
  write_atomically(path, [&](const std::string& tmp) {
    // PLplot exits the process when it cannot open its output, so make sure it can.
    if (!std::ofstream(tmp)) throw IoError(path, "cannot write the plot");
    PLINT previous = 0, stream = 0;
    plgstrm(&previous);
    plmkstrm(&stream);
    plsdev("pngcairo");
    plsfnam(tmp.c_str());
    plspage(0, 0, kWidth, kHeight, 0, 0);
    use_palette();
    plinit();
    pladv(0);
    plschr(0, 1.2);
    try {
      draw();
    } catch (...) {
      plend1();
      plsstrm(previous);
      throw;
    }
    plend1();
    plsstrm(previous);
    // PLplot does not report a failed write (a full disk): a PNG is complete
    // only when it ends with its IEND chunk.
    const std::string png = read_file(tmp);
    static const std::string kIend("IEND\xae\x42\x60\x82", 8);
    if (png.size() < kIend.size() || png.compare(png.size() - kIend.size(), kIend.size(), kIend) != 0)
      throw IoError(path,
                    "write failed: the plot came out incomplete (disk full or over the file size limit?)");
  });
}

// Viewport, grid, box, labels.
void axes(double xmin, double xmax, double ymin, double ymax, const char* xlabel, const char* ylabel,
          const std::string& title) {
  plvpor(0.14, 0.95, 0.12, 0.9);
  plwind(xmin, xmax, ymin, ymax);
  plcol0(kGrid);
  pllsty(1);
  plwidth(1);
  plbox("g", 0, 0, "g", 0, 0);
  plcol0(kInk);
  plbox("bcnst", 0, 0, "bcnstv", 0, 0);
  pllab(xlabel, ylabel, title.c_str());
}

void line(const std::vector<double>& x, const std::vector<double>& y, int colour, int style = 1,
          double width = 2.5) {
  if (x.empty()) return;
  plcol0(colour);
  pllsty(style);
  plwidth(width);
  plline(static_cast<PLINT>(x.size()), x.data(), y.data());
  pllsty(1);
  plwidth(1);
}

void points(const std::vector<double>& x, const std::vector<double>& y, int colour) {
  if (x.empty()) return;
  plcol0(colour);
  plssym(0, 1.3);
  plpoin(static_cast<PLINT>(x.size()), x.data(), y.data(), 17);
}

struct LegendItem {
  std::string text;
  int colour, style;
};

void legend(const std::vector<LegendItem>& items, PLINT position) {
  if (items.empty()) return;
  const size_t n = items.size();
  std::vector<PLINT> options(n, PL_LEGEND_LINE), text_colours(n, kInk), colours, styles, symbol_numbers(n, 0);
  std::vector<PLFLT> widths(n, 2.5), symbol_scales(n, 1.0);
  std::vector<const char*> texts, symbols(n, "");
  for (const auto& item : items) {
    texts.push_back(item.text.c_str());
    colours.push_back(item.colour);
    styles.push_back(item.style);
  }
  PLFLT width = 0, height = 0;
  plschr(0, 1.0);
  pllegend(&width, &height, PL_LEGEND_BACKGROUND | PL_LEGEND_BOUNDING_BOX, position | PL_POSITION_INSIDE,
           0.02, 0.02, 0.08, kBackground, kInk, 1, 0, 0, static_cast<PLINT>(n), options.data(), 1.0, 1.0, 2.0,
           0.0, text_colours.data(), texts.data(), nullptr, nullptr, nullptr, nullptr, colours.data(),
           styles.data(), widths.data(), colours.data(), symbol_scales.data(), symbol_numbers.data(),
           symbols.data());
  plschr(0, 1.2);
}

// Finite [min, max] of the values, padded by 5 % (or +-0.5 when flat).
std::pair<double, double> padded_range(const std::vector<double>& values) {
  double low = INFINITY, high = -INFINITY;
  for (double v : values)
    if (std::isfinite(v)) low = std::min(low, v), high = std::max(high, v);
  if (!std::isfinite(low)) return {0.0, 1.0};
  if (high - low < 1e-9) return {low - 0.5, high + 0.5};
  const double pad = 0.05 * (high - low);
  return {low - pad, high + pad};
}

// The finite points of (x, y).
void keep_finite(std::vector<double>& x, std::vector<double>& y) {
  std::vector<double> fx, fy;
  for (size_t i = 0; i < x.size(); ++i)
    if (std::isfinite(x[i]) && std::isfinite(y[i])) fx.push_back(x[i]), fy.push_back(y[i]);
  x.swap(fx);
  y.swap(fy);
}

// Two per-epoch series of `history` against the epoch, with the best epoch marked.
void plot_epoch_series(const std::string& path, const std::string& title,
                       const std::vector<EpochRecord>& history, const char* ylabel,
                       const std::vector<std::pair<std::string, double EpochRecord::*>>& series,
                       PLINT legend_position) {
  if (history.empty()) throw UsageError(path + ": no epochs to plot");
  std::vector<double> epochs, all;
  for (const auto& r : history) {
    epochs.push_back(r.epoch);
    for (const auto& s : series) all.push_back(r.*(s.second));
  }
  const std::pair<double, double> range = padded_range(all);
  const double ymin = range.first, ymax = range.second;
  render(path, [&] {
    axes(epochs.front() - 0.5, epochs.back() + 0.5, ymin, ymax, "epoch", ylabel, title);
    std::vector<LegendItem> items;
    for (size_t i = 0; i < series.size(); ++i) {
      std::vector<double> x = epochs, y;
      for (const auto& r : history) y.push_back(r.*(series[i].second));
      keep_finite(x, y);
      line(x, y, series_colour(i));
      points(x, y, series_colour(i));
      items.push_back({series[i].first, series_colour(i), 1});
    }
    for (const auto& r : history)
      if (r.best) {
        line({double(r.epoch), double(r.epoch)}, {ymin, ymax}, kReference, 3, 1.5);
        items.push_back({"best epoch (" + std::to_string(r.epoch) + ")", kReference, 3});
      }
    legend(items, legend_position);
  });
}

std::vector<const ScoredSet*> sets_with_both_classes(const std::vector<ScoredSet>& sets) {
  std::vector<const ScoredSet*> usable;
  for (const auto& set : sets) {
    const bool positive = std::count(set.labels.begin(), set.labels.end(), 1) > 0;
    const bool negative = std::count(set.labels.begin(), set.labels.end(), 0) > 0;
    if (positive && negative) usable.push_back(&set);
  }
  return usable;
}

// One curve per set, coloured in turn; returns their legend entries ("name (AUC 0.953)").
template <typename Curve, typename Area>
std::vector<LegendItem> draw_curves(const std::vector<const ScoredSet*>& sets, Curve curve, Area area,
                                    const char* area_pattern) {
  std::vector<LegendItem> items;
  for (size_t i = 0; i < sets.size(); ++i) {
    std::vector<double> x, y;
    for (const auto& p : curve(sets[i]->probabilities, sets[i]->labels)) x.push_back(p.x), y.push_back(p.y);
    line(x, y, series_colour(i), series_style(i));
    items.push_back(
        {sets[i]->name + format_string(area_pattern, area(sets[i]->probabilities, sets[i]->labels)),
         series_colour(i), series_style(i)});
  }
  return items;
}

}  // namespace

void plot_loss_curves(const std::string& path, const std::string& title,
                      const std::vector<EpochRecord>& history) {
  plot_epoch_series(path, title, history, "loss (class-weighted cross-entropy)",
                    {{"training", &EpochRecord::train_loss}, {"validation", &EpochRecord::val_loss}},
                    PL_POSITION_TOP | PL_POSITION_RIGHT);
}

void plot_accuracy_curves(const std::string& path, const std::string& title,
                          const std::vector<EpochRecord>& history) {
  plot_epoch_series(path, title, history, "accuracy / AUC",
                    {{"training accuracy", &EpochRecord::train_accuracy},
                     {"validation accuracy", &EpochRecord::val_accuracy},
                     {"validation ROC AUC", &EpochRecord::val_roc_auc}},
                    PL_POSITION_BOTTOM | PL_POSITION_RIGHT);
}

void plot_roc(const std::string& path, const std::string& title, const std::vector<ScoredSet>& sets) {
  const auto usable = sets_with_both_classes(sets);
  if (usable.empty()) throw UsageError(path + ": a ROC curve needs NORMAL and PNEUMONIA images");
  render(path, [&] {
    axes(-0.01, 1.01, -0.01, 1.01, "false positive rate (1 - specificity)",
         "true positive rate (sensitivity)", title);
    std::vector<LegendItem> items = draw_curves(usable, roc_curve, roc_auc, " (AUC %.3f)");
    line({0, 1}, {0, 1}, kReference, 2, 1.5);
    items.push_back({"chance (AUC 0.5)", kReference, 2});
    legend(items, PL_POSITION_BOTTOM | PL_POSITION_RIGHT);
  });
}

void plot_precision_recall(const std::string& path, const std::string& title,
                           const std::vector<ScoredSet>& sets) {
  const auto usable = sets_with_both_classes(sets);
  if (usable.empty()) throw UsageError(path + ": a precision-recall curve needs NORMAL and PNEUMONIA images");
  render(path, [&] {
    axes(-0.01, 1.01, -0.01, 1.01, "recall (sensitivity)", "precision (positive predictive value)", title);
    std::vector<LegendItem> items = draw_curves(usable, pr_curve, pr_auc, " (AP %.3f)");
    const auto& labels = usable.front()->labels;
    const double prevalence =
        static_cast<double>(std::count(labels.begin(), labels.end(), 1)) / labels.size();
    line({0, 1}, {prevalence, prevalence}, kReference, 2, 1.5);
    items.push_back({format_string("chance (prevalence %.3f)", prevalence), kReference, 2});
    legend(items, PL_POSITION_BOTTOM | PL_POSITION_LEFT);
  });
}

void plot_confusion_matrix(const std::string& path, const std::string& title, const BinaryMetrics& m) {
  // cells[true][predicted], class 0 = NORMAL, 1 = PNEUMONIA.
  const int64_t cells[2][2] = {{m.tn, m.fp}, {m.fn, m.tp}};
  const char* names[2] = {"NORMAL", "PNEUMONIA"};
  const char* kinds[2][2] = {{"true negatives", "false positives"}, {"false negatives", "true positives"}};
  render(path, [&] {
    plvpor(0.27, 0.87, 0.2, 0.84);
    plwind(0, 2, 0, 2);
    for (int t = 0; t < 2; ++t)
      for (int p = 0; p < 2; ++p) {
        const int64_t row_total = cells[t][0] + cells[t][1];
        const double share = row_total > 0 ? static_cast<double>(cells[t][p]) / row_total : 0.0;
        // White to dark blue by the share of the true class.
        plscol0(kCellColour, static_cast<PLINT>(255 - share * (255 - 8)),
                static_cast<PLINT>(255 - share * (255 - 48)), static_cast<PLINT>(255 - share * (255 - 107)));
        plcol0(kCellColour);
        const double x0 = p, y0 = 1 - t;  // true NORMAL on top
        const double xs[4] = {x0, x0 + 1, x0 + 1, x0}, ys[4] = {y0, y0, y0 + 1, y0 + 1};
        plfill(4, xs, ys);
        plcol0(share > 0.5 ? kBackground : kInk);
        plschr(0, 2.2);
        plptex(x0 + 0.5, y0 + 0.55, 1, 0, 0.5, std::to_string(cells[t][p]).c_str());
        plschr(0, 1.3);
        plptex(x0 + 0.5, y0 + 0.36, 1, 0, 0.5, format_string("%.1f %%", 100 * share).c_str());
        plschr(0, 1.05);
        plptex(x0 + 0.5, y0 + 0.2, 1, 0, 0.5, kinds[t][p]);
      }
    plcol0(kInk);
    plwidth(1.5);
    plbox("bc", 1, 0, "bc", 1, 0);
    line({1, 1}, {0, 2}, kInk, 1, 1.5);
    line({0, 2}, {1, 1}, kInk, 1, 1.5);
    plcol0(kInk);
    plschr(0, 1.3);
    plmtex("b", 1.6, 0.25, 0.5, names[0]);
    plmtex("b", 1.6, 0.75, 0.5, names[1]);
    plmtex("b", 3.3, 0.5, 0.5, "predicted class");
    plmtex("lv", 1.0, 0.75, 1.0, names[0]);
    plmtex("lv", 1.0, 0.25, 1.0, names[1]);
    plmtex("l", 10.0, 0.5, 0.5, "true class");
    plschr(0, 1.0);
    plmtex("b", 6.5, 0.5, 0.5, "percentages: share of the true class (row)");
    plschr(0, 1.4);
    plmtex("t", 2.6, 0.5, 0.5, title.c_str());
    plschr(0, 1.1);
    plmtex("t", 0.8, 0.5, 0.5,
           format_string("n = %.0f, threshold ", static_cast<double>(m.tn + m.fp + m.fn + m.tp))
               .append(format_string("%.4f, sensitivity ", m.threshold))
               .append(format_string("%.3f, specificity ", m.recall))
               .append(format_string("%.3f", m.specificity))
               .c_str());
  });
}

void plot_calibration(const std::string& path, const std::string& title, const ScoredSet& set, int bins) {
  if (set.probabilities.empty()) throw UsageError(path + ": no predictions to plot");
  const auto calibration = calibration_bins(set.probabilities, set.labels, bins);
  std::vector<double> x, y;
  for (const auto& bin : calibration)
    if (bin.count > 0) x.push_back(bin.mean_predicted), y.push_back(bin.fraction_positive);
  const double ece = expected_calibration_error(set.probabilities, set.labels, bins);
  const double brier = brier_score(set.probabilities, set.labels);
  render(path, [&] {
    axes(-0.01, 1.01, -0.01, 1.01, "mean predicted P(pneumonia) in bin", "observed share of pneumonia",
         title);
    line({0, 1}, {0, 1}, kReference, 2, 1.5);
    line(x, y, series_colour(0));
    points(x, y, series_colour(0));
    legend({{set.name + format_string(" (ECE %.3f, ", ece) + format_string("Brier %.3f)", brier),
             series_colour(0), 1},
            {"perfectly calibrated", kReference, 2}},
           PL_POSITION_TOP | PL_POSITION_LEFT);
    plcol0(kInk);
    plschr(0, 1.0);
    plmtex("t", 0.4, 1.0, 1.0, (std::to_string(bins) + " equal-width bins; empty bins omitted").c_str());
  });
}

std::vector<PlotFile> write_evaluation_plots(const std::string& dir, const std::string& prefix,
                                             const std::string& title, const ScoredSet& set,
                                             const BinaryMetrics& metrics) {
  const auto file = [&](const char* what) { return (std::filesystem::path(dir) / (prefix + what)).string(); };
  std::vector<PlotFile> written;
  if (!sets_with_both_classes({set}).empty()) {
    plot_roc(file("_roc.png"), title + ": ROC curve", {set});
    written.push_back({file("_roc.png"), "ROC curve"});
    plot_precision_recall(file("_pr.png"), title + ": precision-recall curve", {set});
    written.push_back({file("_pr.png"), "Precision-recall curve"});
  }
  plot_confusion_matrix(file("_confusion.png"), title + ": confusion matrix", metrics);
  written.push_back({file("_confusion.png"), "Confusion matrix"});
  if (!set.probabilities.empty()) {
    plot_calibration(file("_calibration.png"), title + ": calibration", set);
    written.push_back({file("_calibration.png"), "Calibration (reliability) curve"});
  }
  return written;
}

std::vector<PlotFile> write_training_plots(const std::string& dir, const std::string& prefix,
                                           const std::string& title,
                                           const std::vector<EpochRecord>& history) {
  if (history.empty()) return {};
  const auto file = [&](const char* what) { return (std::filesystem::path(dir) / (prefix + what)).string(); };
  plot_loss_curves(file("_loss.png"), title + ": loss", history);
  plot_accuracy_curves(file("_accuracy.png"), title + ": accuracy", history);
  return {{file("_loss.png"), "Loss per epoch"}, {file("_accuracy.png"), "Accuracy per epoch"}};
}

}  // namespace pneumoscan
