#pragma once
// One explained X-ray on disk: <out_dir>/<stem>.overlay.png (8-bit colour
// overlay) and <out_dir>/<stem>.heatmap.png (16-bit map), both at the
// original image's size. Shared by `pneumoscan explain` and `predict --explain`.
#include <string>

#include "explain/heatmap.h"
#include "image/image.h"
#include "infer/predictor.h"

namespace pneumoscan {

struct ExplanationFiles {
  std::string overlay_path;
  std::string heatmap_path;
  Heatmap heatmap;  // at model input size
};

// Explains `image` (decoded from `source_path`, whose stem names the outputs)
// with the predictor's model and preprocessing, and writes both PNGs
// atomically, creating `out_dir` when needed. `member` >= 0 explains that
// member of an ensemble alone (models/ensemble.h's ensemble_member; the
// heatmap's probability is then the member's own); -1 the whole model (for an
// ensemble, the evidence of all members together). Throws IoError naming the
// output file when writing fails, UsageError for a member the model lacks.
// Files with the same stem overwrite each other.
ExplanationFiles write_explanation(Predictor& predictor, const Image& image, const std::string& source_path,
                                   ExplainMethod method, int target, const std::string& out_dir,
                                   double alpha = 0.4, int member = -1);

// Writes the two PNGs of an already computed heatmap (as write_explanation does).
ExplanationFiles write_explanation_files(const Heatmap& heatmap, const Image& image,
                                         const std::string& source_path, const std::string& out_dir,
                                         double alpha = 0.4);

}  // namespace pneumoscan
