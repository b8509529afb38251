// Exploratory statistics of a data set.
#include "data/eda.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>
#include <sstream>
#include <unordered_map>

#include "core/text.h"
#include "image/quality.h"

namespace pneumoscan {
namespace {

IntensityStats intensity_of(const std::vector<double>& means) {
  IntensityStats s;
  s.images = means.size();
  if (means.empty()) return s;
  double sum = 0;
  for (double m : means) sum += m;
  s.mean_of_means = sum / means.size();
  double sq = 0;
  for (double m : means) sq += (m - s.mean_of_means) * (m - s.mean_of_means);
  s.std_of_means = std::sqrt(sq / means.size());
  return s;
}

nlohmann::json summary_json(const Summary& s) {
  return {{"count", s.count}, {"min", s.min}, {"median", s.median}, {"max", s.max}};
}

nlohmann::json counts_json(const SplitCounts& c) {
  nlohmann::json j = {{"NORMAL", c.per_class[kNormal]},
                      {"PNEUMONIA", c.per_class[kPneumonia]},
                      {"unlabelled", c.unlabelled},
                      {"total", c.total()}};
  const auto ratio = c.imbalance();
  j["imbalance_pneumonia_per_normal"] = ratio ? nlohmann::json(*ratio) : nlohmann::json();
  return j;
}

nlohmann::json intensity_json(const IntensityStats& s) {
  return {{"images", s.images}, {"mean_of_means", s.mean_of_means}, {"std_of_means", s.std_of_means}};
}

std::string num(double v, int decimals) { return format_string("%.*f", decimals, v); }

// A table with a header row; columns padded to their widest cell, first left-aligned.
std::string table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width;
  for (const auto& row : rows)
    for (size_t c = 0; c < row.size(); ++c) {
      if (width.size() <= c) width.push_back(0);
      width[c] = std::max(width[c], row[c].size());
    }
  std::ostringstream out;
  for (size_t r = 0; r < rows.size(); ++r) {
    out << "  ";
    for (size_t c = 0; c < rows[r].size(); ++c) {
      const std::string& cell = rows[r][c];
      const std::string pad(width[c] - cell.size(), ' ');
      out << (c == 0 ? cell + pad : pad + cell) << (c + 1 < rows[r].size() ? "  " : "");
    }
    out << "\n";
    if (r == 0) {
      size_t total = 0;
      for (size_t w : width) total += w + 2;
      out << "  " << std::string(total - 2, '-') << "\n";
    }
  }
  return out.str();
}

}  // namespace

Summary summarize(std::vector<double> values) {
  Summary s;
  s.count = values.size();
  if (values.empty()) return s;
  std::sort(values.begin(), values.end());
  s.min = values.front();
  s.max = values.back();
  const size_t n = values.size();
  s.median = n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2.0;
  return s;
}

std::optional<double> SplitCounts::imbalance() const {
  if (per_class[kNormal] == 0) return std::nullopt;
  return static_cast<double>(per_class[kPneumonia]) / per_class[kNormal];
}

EdaReport run_eda(const std::vector<Sample>& samples, int threads) {
  EdaReport report;
  report.total = samples.size();
  auto count = [](SplitCounts& c, int label) {
    if (label == kNormal || label == kPneumonia)
      ++c.per_class[label];
    else
      ++c.unlabelled;
  };
  std::unordered_map<std::string, size_t> per_patient;
  for (const auto& s : samples) {
    count(report.splits[s.split], s.label);
    count(report.overall, s.label);
    ++per_patient[s.patient.empty() ? "\x01" + s.path : s.patient];
  }
  report.patients = per_patient.size();
  std::vector<double> ipp;
  for (const auto& [patient, n] : per_patient) ipp.push_back(static_cast<double>(n));
  report.images_per_patient = summarize(ipp);

  std::vector<std::string> paths;
  for (const auto& s : samples) paths.push_back(s.path);
  const auto scans = scan_images(paths, threads);
  std::vector<double> widths, heights, ages, all_means;
  std::array<std::vector<double>, 2> means;
  std::set<std::pair<int, int>> sizes;
  for (size_t i = 0; i < scans.size(); ++i) {
    const ImageScan& scan = scans[i];
    if (!scan.ok) {
      ++report.unreadable;
      continue;
    }
    const ImageQuality& q = scan.quality;
    widths.push_back(q.width);
    heights.push_back(q.height);
    sizes.insert({q.width, q.height});
    ++report.formats[scan.format];
    all_means.push_back(q.mean);
    const int label = samples[i].label;
    if (label == kNormal || label == kPneumonia) means[label].push_back(q.mean);
    if (scan.dicom) {
      ++report.dicom_files;
      ++report.sex[scan.dicom->sex.empty() ? "unknown" : scan.dicom->sex];
      if (scan.dicom->age_years) ages.push_back(*scan.dicom->age_years);
    }
  }
  report.width = summarize(widths);
  report.height = summarize(heights);
  report.distinct_sizes = sizes.size();
  for (int c = 0; c < 2; ++c) report.intensity[c] = intensity_of(means[c]);
  report.intensity_all = intensity_of(all_means);
  report.age_years = summarize(ages);
  return report;
}

nlohmann::json to_json(const EdaReport& r) {
  nlohmann::json j;
  j["total"] = r.total;
  j["unreadable"] = r.unreadable;
  j["splits"] = nlohmann::json::object();
  for (const auto& [split, counts] : r.splits)
    j["splits"][split.empty() ? "(none)" : split] = counts_json(counts);
  j["overall"] = counts_json(r.overall);
  j["patients"] = {{"count", r.patients}, {"images_per_patient", summary_json(r.images_per_patient)}};
  j["image_size"] = {{"width", summary_json(r.width)},
                     {"height", summary_json(r.height)},
                     {"distinct_sizes", r.distinct_sizes}};
  j["formats"] = r.formats;
  j["intensity"] = {{"NORMAL", intensity_json(r.intensity[kNormal])},
                    {"PNEUMONIA", intensity_json(r.intensity[kPneumonia])},
                    {"all", intensity_json(r.intensity_all)}};
  j["dicom"] = {{"files", r.dicom_files}, {"sex", r.sex}, {"age_years", summary_json(r.age_years)}};
  return j;
}

std::string format_table(const EdaReport& r) {
  std::ostringstream out;
  out << "Data set: " << r.total << " files, " << r.unreadable << " unreadable\n\n";

  out << "Class balance\n";
  std::vector<std::vector<std::string>> rows = {
      {"split", "NORMAL", "PNEUMONIA", "unlabelled", "total", "PNEU/NORM"}};
  auto add = [&](const std::string& name, const SplitCounts& c) {
    const auto ratio = c.imbalance();
    rows.push_back({name, std::to_string(c.per_class[kNormal]), std::to_string(c.per_class[kPneumonia]),
                    std::to_string(c.unlabelled), std::to_string(c.total()), ratio ? num(*ratio, 2) : "-"});
  };
  for (const auto& [split, counts] : r.splits) add(split.empty() ? "(none)" : split, counts);
  add("all", r.overall);
  out << table(rows) << "\n";

  out << "Patients and image sizes\n";
  auto summary_row = [](const std::string& name, const Summary& s, int decimals) {
    return std::vector<std::string>{name, std::to_string(s.count), num(s.min, decimals),
                                    num(s.median, decimals), num(s.max, decimals)};
  };
  out << table({{"measure", "count", "min", "median", "max"},
                summary_row("images per patient", r.images_per_patient, 1),
                summary_row("width (px)", r.width, 0),
                summary_row("height (px)", r.height, 0)});
  out << "  patients: " << r.patients << ", distinct image sizes: " << r.distinct_sizes << ", formats:";
  for (const auto& [format, n] : r.formats) out << " " << format << "=" << n;
  out << "\n\n";

  out << "Intensity (per-image mean, [0,1])\n";
  auto intensity_row = [](const std::string& name, const IntensityStats& s) {
    return std::vector<std::string>{name, std::to_string(s.images), num(s.mean_of_means, 4),
                                    num(s.std_of_means, 4)};
  };
  out << table({{"class", "images", "mean", "std"},
                intensity_row("NORMAL", r.intensity[kNormal]),
                intensity_row("PNEUMONIA", r.intensity[kPneumonia]),
                intensity_row("all", r.intensity_all)});

  if (r.dicom_files > 0) {
    out << "\nDICOM demographics (" << r.dicom_files << " files)\n";
    std::vector<std::vector<std::string>> sex_rows = {{"sex", "files"}};
    for (const auto& [sex, n] : r.sex) sex_rows.push_back({sex, std::to_string(n)});
    out << table(sex_rows);
    out << table({{"measure", "count", "min", "median", "max"}, summary_row("age (years)", r.age_years, 1)});
  }
  return out.str();
}

}  // namespace pneumoscan
