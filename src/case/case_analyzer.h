#pragma once
// One case analysis behind every front end. `predict`, the HTTP service and
// the DICOM node hand a decoded study to CaseAnalyzer::analyse and only render
// the CaseResult it returns (text, JSON, HTML, DICOM objects), so the same
// image gets the same probability, gate and uncertainty from every door.
//
// One analysis: the intended-use gate's header and pixel checks (case/gate.h);
// one forward pass whose rows give the class probabilities, the embedding for
// the out-of-distribution score (case/ood.h) and, for an ensemble, each
// member's calibrated P(pneumonia); for a single network four test-time
// augmentations (case/uncertainty.h) in the same pass; then, unless the gate
// refused, the heatmap and similar cases when asked for.
#include <torch/types.h>

#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "case/gate.h"
#include "case/uncertainty.h"
#include "core/precision.h"
#include "explain/heatmap.h"
#include "image/image.h"
#include "infer/predictor.h"
#include "search/similar_cases.h"

namespace pneumoscan {

// Which model and settings produced a result.
struct Provenance {
  std::string model_name;
  std::string architecture;
  int ensemble_size = 1;
  std::string checksum;           // the model file's verified checksum; "" for a file without one
  std::string integrity_warning;  // why damage could not be ruled out, or ""
  std::string created_at;
  nlohmann::json preprocess;  // the model file's preprocessing, as stored
  double threshold = 0.5;
  std::string threshold_policy;  // the calibration policy that chose it; "validation" when never calibrated
  std::string population;        // the model's stated population, for people
  std::string program_version;
  std::string precision = "float32";  // the number format inference ran in (core/precision.h)
};
nlohmann::json to_json(const Provenance& provenance);

struct CaseRequest {
  std::string
      name;  // the file path, upload name or "SOP instance <uid>": names the case in results and errors
  std::optional<ExplainMethod> explain;  // heatmap of the predicted class
  int64_t similar_k = 0;                 // > 0: that many similar cases (needs a case index)
};

struct CaseTiming {
  double analysis_ms = 0;   // the whole analysis (not decoding)
  double queue_ms = 0;      // waiting for a shared forward pass (the HTTP batcher)
  double inference_ms = 0;  // that forward pass
  int batch_size = 1;       // rows in it
};

struct CaseResult {
  std::string name;
  GateResult gate;
  std::optional<Prediction> prediction;    // absent when the gate refused
  std::optional<Uncertainty> uncertainty;  // with the prediction
  std::optional<Heatmap> heatmap;          // when asked for and not refused
  bool similar_requested = false;
  std::vector<SimilarCase> similar;
  std::string format;
  int width = 0, height = 0;
  std::vector<std::string> warnings;  // the decoder's
  CaseTiming timing;
  Provenance provenance;

  bool refused() const { return gate.refused(); }
};

// The one JSON schema of a result (README "Case results"). Diagnosed:
// {"file", "probability", "label", "threshold", ["type", "type_probabilities"],
//  "uncertainty": {"low", "high", "uncertain", "method", "samples"}, "gate",
//  "image": {"format", "width", "height"}, ["warnings"], "timing_ms",
//  "provenance"}; refused: the same without the diagnosis fields and
// "error" saying why. Front ends add their own keys (files written, images).
nlohmann::json to_json(const CaseResult& result);
// One line for people: "NAME<TAB>LABEL<TAB>p(pneumonia)=... [uncertain ...]" or
// "NAME<TAB>REFUSED<TAB>reasons".
std::string to_text(const CaseResult& result);

struct CaseAnalyzerOptions {
  std::string model_path;  // "" = the bundled default model
  std::string index_path;  // "" = no similar cases
  c10::Device device = c10::Device(c10::kCPU);
  bool test_time_augmentation = true;         // single networks: the TTA interval (4 more rows per case)
  Precision precision = Precision::kFloat32;  // of inference (core/precision.h); recorded in the provenance
};

class CaseAnalyzer {
 public:
  // Loads the model (and index). Throws ModelFileError / UsageError.
  explicit CaseAnalyzer(CaseAnalyzerOptions options);

  // Runs the network over rows [R, C, S, S] of input_rows() and returns the
  // packed outputs [R, F] that analyse() reads. Serialised on the analyzer's
  // network lock; callable from any thread (the HTTP batcher's worker).
  torch::Tensor forward_rows(const torch::Tensor& rows);

  // Forwards rows to the network; the HTTP service passes one that shares
  // forward passes between requests. Must return forward_rows' result for them.
  using RowRunner = std::function<torch::Tensor(const torch::Tensor& rows, CaseTiming& timing)>;

  // Analyses one decoded study. Thread-safe. Throws only for failures of our
  // side (and UsageError for similar cases without an index); every problem
  // of the input is a gate reason in the result.
  CaseResult analyse(const Image& image, const CaseRequest& request, const RowRunner& run_rows = {});

  // How to decode for analyse() when nothing needs the full-size pixels (no
  // heatmap at the original size, no report): a JPEG may be reduced in the
  // DCT, keeping at least twice the model's input size so that the model's
  // own area resize still does the last averaging. Measured on 100
  // full-resolution JPEGs with the default model: P(pneumonia) moved by 0.0008
  // on average (at most 0.010), no label changed; reducing down to the input
  // size itself moved it by up to 0.05 and changed one label.
  DecodeOptions decode_options() const;

  // The single row [1, C, S, S] the network sees for `image` (no variants).
  torch::Tensor model_input(const Image& image) const { return input_rows(image, false); }
  // The embedding columns [R, D] of forward_rows' output (what the
  // out-of-distribution score compares).
  torch::Tensor embeddings_of(const torch::Tensor& outputs) const;

  Predictor& predictor() { return *predictor_; }
  const ModelMetadata& metadata() const { return predictor_->metadata(); }
  const Provenance& provenance() const { return provenance_; }
  CaseFinder* finder() { return finder_.get(); }
  const CaseFinder* finder() const { return finder_.get(); }
  const std::string& model_path() const { return model_path_; }

 private:
  // [1 + variants, C, S, S]: the image as the model sees it, then its TTA variants.
  torch::Tensor input_rows(const Image& image, bool with_variants) const;
  // Columns before the embedding in forward_rows' output: classes, then ensemble members.
  int64_t embedding_offset() const;

  std::string model_path_;
  CaseAnalyzerOptions options_;
  std::unique_ptr<Predictor> predictor_;
  std::unique_ptr<CaseFinder> finder_;
  Provenance provenance_;
  std::mutex network_mutex_;
};

}  // namespace pneumoscan
