#pragma once
// Fitting a model's intended use: the out-of-distribution reference (a seeded
// sample of training embeddings) and the limit that `pass_rate` of the
// validation X-rays stay within, each image decoded and preprocessed exactly
// as a case is (case/case_analyzer.h), so the limit means the same at run time.
#include <torch/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "case/case_analyzer.h"
#include "data/sample.h"
#include "model_file/intended_use.h"

namespace pneumoscan {

struct OodFitOptions {
  int references = 512;     // training images kept as the reference (all when fewer)
  int k = 5;                // neighbours averaged
  double pass_rate = 0.99;  // share of validation X-rays the limit lets through
  uint64_t seed = 1;        // which training images
  int threads = 0;          // decoding threads (0 = one per core)
};

struct OodFit {
  OodReference description;
  torch::Tensor reference;                // [references, D]
  std::vector<double> validation_scores;  // one per validation image that decoded
  std::vector<std::string> failures;      // "path: problem" for images left out
};

// (stage, done, total): stage "reference" then "validation".
using FitProgress = std::function<void(const std::string& stage, size_t done, size_t total)>;

// Embeddings [N, D] of the images at `paths`, as CaseAnalyzer::analyse computes
// them. Undecodable images are left out and listed in `failures`.
torch::Tensor case_embeddings(CaseAnalyzer& analyzer, const std::vector<std::string>& paths, int threads,
                              std::vector<std::string>& failures,
                              const std::function<void(size_t)>& done = {});

// Throws UsageError when there are no training or validation images.
OodFit fit_ood_reference(CaseAnalyzer& analyzer, const std::vector<Sample>& train,
                         const std::vector<Sample>& validation, const OodFitOptions& options,
                         const FitProgress& progress = {});

}  // namespace pneumoscan
