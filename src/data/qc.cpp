// Dataset quality control.
//
// Threshold calibration (measure_quality on every image, this commit's decoder):
//  * Laplacian variance at 256 px working width, 8-bit scale:
//      chest_xray (5,232 images at 224x224, upscaled to 256):
//        min 6.68, p0.5 12.5, p1 14.4, p5 22.6, median 53.9, p95 102, max 296
//      chest_xray_fullres (200 images): min 41.9, p1 88.6, p5 150, median 286, max 800
//    Blurred copies (GaussianBlur with sigma s px at the working size, every 10th image
//    of chest_xray, n=524): s=1: 3.96..39.1 (median 12.7); s=1.5: 2.49..16.3 (median 6.1);
//    s=2: 2.13..8.61 (median 3.96, p95 6.02); s=3: 1.88..4.03. On fullres (n=20):
//    s=2: 2.87..6.31, s=3: 1.98..3.21.
//    Threshold 5.0 flags every s>=3 copy, most s=2 copies, and no real image
//    (the blurriest real one, 6.68, is a 224 px image already softened by downsizing).
//    Mild blur (s=1) overlaps with real images and cannot be told apart by this measure.
//  * Intensity stddev ([0,1] units): real images 0.08..0.34 (p0.5 0.12); blank below 0.02.
//  * Min side: real images >= 224 px; too small below 64 px (useless after resizing).
#include "data/qc.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <sstream>
#include <unordered_map>

#include "core/atomic_file.h"
#include "core/errors.h"
#include "core/hash.h"
#include "core/text.h"
#include "image/quality.h"

namespace pneumoscan {
namespace {

// "path: problem" -> "problem" (the path is already in QcIssue::path).
std::string strip_path(const std::string& message, const std::string& path) {
  const std::string prefix = path + ": ";
  if (message.compare(0, prefix.size(), prefix) == 0) return message.substr(prefix.size());
  return message;
}

nlohmann::json issues_json(const std::vector<QcIssue>& issues) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& issue : issues) out.push_back({{"path", issue.path}, {"detail", issue.detail}});
  return out;
}

}  // namespace

bool DuplicateGroup::conflicting_labels() const {
  return std::set<int>(labels.begin(), labels.end()).size() > 1;
}

bool DuplicateGroup::across_splits() const {
  return std::set<std::string>(splits.begin(), splits.end()).size() > 1;
}

QcReport run_qc(const std::vector<Sample>& samples, const QcOptions& options) {
  QcReport report;
  report.options = options;
  report.options.progress = nullptr;
  report.total = samples.size();

  std::vector<std::string> paths;
  paths.reserve(samples.size());
  for (const auto& s : samples) paths.push_back(s.path);
  const std::vector<ImageScan> scans = scan_images(paths, options.threads, options.progress);

  std::unordered_map<uint64_t, size_t> group_of_hash;  // hash -> index in `groups`
  std::vector<DuplicateGroup> groups;
  for (size_t i = 0; i < scans.size(); ++i) {
    const ImageScan& scan = scans[i];
    const Sample& sample = samples[i];
    if (!scan.ok) {
      report.unreadable.push_back({sample.path, strip_path(scan.error, sample.path)});
      continue;
    }
    ++report.readable;
    const ImageQuality& q = scan.quality;
    const bool blank = q.stddev < options.blank_stddev;
    if (blank) report.blank.push_back({sample.path, "intensity stddev " + format_string("%.4f", q.stddev)});
    if (std::min(q.width, q.height) < options.min_side)
      report.too_small.push_back({sample.path, std::to_string(q.width) + "x" + std::to_string(q.height)});
    if (!blank && q.laplacian_variance < options.blur_threshold)
      report.blurry.push_back(
          {sample.path, "Laplacian variance " + format_string("%.2f", q.laplacian_variance)});

    auto [it, inserted] = group_of_hash.emplace(q.pixel_hash, groups.size());
    if (inserted) groups.push_back({q.pixel_hash, {}, {}, {}});
    DuplicateGroup& group = groups[it->second];
    group.paths.push_back(sample.path);
    group.labels.push_back(sample.label);
    group.splits.push_back(sample.split);
  }
  for (auto& group : groups) {
    if (group.paths.size() < 2) continue;
    report.duplicate_files += group.paths.size() - 1;
    report.duplicates.push_back(std::move(group));
  }

  std::map<std::string, std::pair<std::set<std::string>, std::vector<std::string>>> by_patient;
  for (const auto& s : samples) {
    if (s.patient.empty() || s.split.empty()) continue;
    auto& entry = by_patient[s.patient];
    entry.first.insert(s.split);
    entry.second.push_back(s.path);
  }
  for (auto& [patient, entry] : by_patient)
    if (entry.first.size() > 1)
      report.cross_split_patients.push_back({patient,
                                             std::vector<std::string>(entry.first.begin(), entry.first.end()),
                                             std::move(entry.second)});
  return report;
}

std::vector<std::string> qc_exclusions(const QcReport& report, bool exclude_blurry) {
  std::set<std::string> out;
  for (const auto* list : {&report.unreadable, &report.blank, &report.too_small})
    for (const auto& issue : *list) out.insert(issue.path);
  if (exclude_blurry)
    for (const auto& issue : report.blurry) out.insert(issue.path);
  for (const auto& group : report.duplicates)
    for (size_t i = 1; i < group.paths.size(); ++i) out.insert(group.paths[i]);
  return {out.begin(), out.end()};
}

std::vector<std::string> qc_exclusions(const QcReport& report) {
  return qc_exclusions(report, report.options.exclude_blurry);
}

nlohmann::json to_json(const QcReport& report) {
  nlohmann::json j;
  j["thresholds"] = {{"blank_stddev", report.options.blank_stddev},
                     {"min_side", report.options.min_side},
                     {"blur_laplacian_variance", report.options.blur_threshold},
                     {"blur_working_width", kQualityWorkingWidth},
                     {"exclude_blurry", report.options.exclude_blurry}};
  const auto exclude = qc_exclusions(report);
  j["counts"] = {{"total", report.total},
                 {"readable", report.readable},
                 {"unreadable", report.unreadable.size()},
                 {"blank", report.blank.size()},
                 {"too_small", report.too_small.size()},
                 {"blurry", report.blurry.size()},
                 {"duplicate_groups", report.duplicates.size()},
                 {"duplicate_files", report.duplicate_files},
                 {"cross_split_patients", report.cross_split_patients.size()},
                 {"excluded", exclude.size()}};
  j["unreadable"] = issues_json(report.unreadable);
  j["blank"] = issues_json(report.blank);
  j["too_small"] = issues_json(report.too_small);
  j["blurry"] = issues_json(report.blurry);
  j["duplicates"] = nlohmann::json::array();
  for (const auto& g : report.duplicates) {
    nlohmann::json labels = nlohmann::json::array();
    for (int label : g.labels)
      labels.push_back(label >= 0 && label < 2 ? nlohmann::json(kClassNames[label]) : nlohmann::json());
    j["duplicates"].push_back({{"pixel_hash", hex64(g.pixel_hash)},
                               {"paths", g.paths},
                               {"labels", labels},
                               {"splits", g.splits},
                               {"conflicting_labels", g.conflicting_labels()},
                               {"across_splits", g.across_splits()}});
  }
  j["cross_split_patients"] = nlohmann::json::array();
  for (const auto& p : report.cross_split_patients)
    j["cross_split_patients"].push_back({{"patient", p.patient}, {"splits", p.splits}, {"paths", p.paths}});
  j["exclude"] = exclude;
  return j;
}

std::string format_summary(const QcReport& report, size_t examples) {
  std::ostringstream out;
  auto section = [&](const char* title, const std::vector<QcIssue>& issues) {
    char line[128];
    std::snprintf(line, sizeof line, "  %-22s %8zu\n", title, issues.size());
    out << line;
    for (size_t i = 0; i < issues.size() && i < examples; ++i)
      out << "      " << issues[i].path << "  (" << issues[i].detail << ")\n";
    if (issues.size() > examples) out << "      ... " << issues.size() - examples << " more\n";
  };
  const auto exclude = qc_exclusions(report);
  out << "QC of " << report.total << " files (" << report.readable << " readable)\n";
  out << "thresholds: blank stddev < " << report.options.blank_stddev << ", min side < "
      << report.options.min_side << " px, blurry Laplacian variance < " << report.options.blur_threshold
      << (report.options.exclude_blurry ? " (excluded)" : " (reported only)") << "\n";
  section("unreadable", report.unreadable);
  section("blank/near-constant", report.blank);
  section("too small", report.too_small);
  section("blurry", report.blurry);

  size_t conflicting = 0, across = 0;
  for (const auto& g : report.duplicates) {
    conflicting += g.conflicting_labels();
    across += g.across_splits();
  }
  char line[200];
  std::snprintf(line, sizeof line,
                "  %-22s %8zu  (%zu groups, %zu with conflicting labels, %zu across splits)\n",
                "duplicate files", report.duplicate_files, report.duplicates.size(), conflicting, across);
  out << line;
  for (size_t i = 0; i < report.duplicates.size() && i < examples; ++i) {
    const auto& g = report.duplicates[i];
    out << "      " << g.paths[0];
    for (size_t k = 1; k < g.paths.size(); ++k) out << " == " << g.paths[k];
    out << "\n";
  }
  if (report.duplicates.size() > examples)
    out << "      ... " << report.duplicates.size() - examples << " more groups\n";
  std::snprintf(line, sizeof line, "  %-22s %8zu\n", "cross-split patients",
                report.cross_split_patients.size());
  out << line;
  for (size_t i = 0; i < report.cross_split_patients.size() && i < examples; ++i) {
    const auto& p = report.cross_split_patients[i];
    out << "      " << p.patient << " in";
    for (const auto& s : p.splits) out << " " << s;
    out << " (" << p.paths.size() << " files)\n";
  }
  if (report.cross_split_patients.size() > examples)
    out << "      ... " << report.cross_split_patients.size() - examples << " more\n";
  std::snprintf(line, sizeof line, "  %-22s %8zu\n", "excluded from training", exclude.size());
  out << line;
  return out.str();
}

std::vector<std::string> read_qc_exclusions(const std::string& qc_json_path) {
  std::string text;
  try {
    text = read_file(qc_json_path, kTextReadLimit);
  } catch (const Error& e) {
    throw InputError(qc_json_path, "cannot read QC report (" + strip_path(e.what(), qc_json_path) + ")");
  }
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw InputError(qc_json_path, std::string("QC report is not valid JSON (") + e.what() + ")");
  }
  if (!j.is_object() || !j.contains("exclude") || !j["exclude"].is_array())
    throw InputError(qc_json_path, "QC report has no \"exclude\" array");
  std::vector<std::string> out;
  for (const auto& item : j["exclude"]) {
    if (!item.is_string()) throw InputError(qc_json_path, "QC report \"exclude\" holds a non-string entry");
    out.push_back(item.get<std::string>());
  }
  return out;
}

}  // namespace pneumoscan
