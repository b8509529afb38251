#pragma once
// How the intended-use gate and the uncertainty behave on sets of images:
// the share of real X-rays passed, the share of each kind of non-X-ray
// refused (and by which reason), what adult or altered X-rays get, and, where
// labels are known, how error rates differ between certain and uncertain cases.
// Behind `pneumoscan gate evaluate`.
#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "case/case_analyzer.h"
#include "image/image.h"

namespace pneumoscan {

struct GateCase {
  std::string name;
  int label = -1;               // kNormal / kPneumonia, -1 = unknown
  std::function<Image()> load;  // decodes or generates the image; throws InputError
};

struct GateSet {
  std::string name;
  std::vector<GateCase> cases;
};

struct GateSetFigures {
  std::string name;
  size_t images = 0, failed = 0, passed = 0, warned = 0, refused = 0;  // passed = ok
  std::map<std::string, size_t> reasons;                               // cases per reason code
  std::vector<double> ood_scores;  // of the cases that reached the network
  // Diagnosed cases with labels, at the model's threshold.
  size_t certain = 0, certain_errors = 0, uncertain = 0, uncertain_errors = 0;
};

// The files of a folder (standard layout or any folder, recursively), a
// manifest (optionally only `split`), or one file, labelled where the data set says.
GateSet files_set(const std::string& name, const std::string& path, const std::string& split = "");

// Non-X-rays made here, `count` each, seeded: "noise" (uniform, Gaussian and
// smoothed noise), "documents" (black text lines on white), "screenshots"
// (gray window chrome with text and a coloured bar).
std::vector<GateSet> generated_non_xray_sets(int count, uint64_t seed);

// Altered copies of the first `count` cases of an X-ray set: "<name>-rotated90",
// "<name>-upside-down", "<name>-cropped" (the central 30%), "<name>-inverted".
std::vector<GateSet> altered_xray_sets(const GateSet& xrays, int count);

// Runs every case through analyzer.analyse (no heatmap, no similar cases).
// `progress(set, done, total)` after each case.
GateSetFigures evaluate_gate_set(
    CaseAnalyzer& analyzer, const GateSet& set,
    const std::function<void(const std::string&, size_t, size_t)>& progress = {});

nlohmann::json to_json(const GateSetFigures& figures);
// One table row: name, n, passed %, warned %, refused %, top reasons, median OOD score.
std::string to_text(const GateSetFigures& figures);

}  // namespace pneumoscan
