#pragma once
// A case report: one self-contained HTML page per X-ray (images embedded as
// base64 data URLs, inline CSS, no scripts or network references) with the
// image, its heatmap overlay, P(pneumonia) against the threshold, the
// decision, the model, and optionally the most similar past cases.
#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "image/image.h"
#include "infer/predictor.h"
#include "search/case_index.h"

namespace pneumoscan {

struct CaseReport {
  std::string source_path;
  const Image* image = nullptr;  // the decoded X-ray (not owned)
  Prediction prediction;
  std::string model_name;
  std::string architecture;
  cv::Mat heatmap01;           // CV_32FC1 [0, 1] (heatmap.h), any size; empty = no overlay
  std::string heatmap_method;  // "gradcam", ...
  // Shown under the decision: the uncertainty interval in words ("" = none),
  // and the input gate's warnings (the diagnosis stands, with these caveats).
  std::string uncertainty;
  std::vector<std::string> gate_warnings;
  bool similar_requested = false;
  std::vector<SimilarCase> similar;  // thumbnails are decoded from their paths
};

// The page as a string. Images are shown at most `max_side` pixels on the
// longer side; similar cases whose file cannot be decoded are listed without
// a thumbnail.
std::string case_report_html(const CaseReport& report, int max_side = 800);

// Writes <out_dir>/<stem>.report.html atomically (creating out_dir); returns
// its path. Throws IoError naming the file when writing fails.
std::string write_case_report(const CaseReport& report, const std::string& out_dir);

}  // namespace pneumoscan
