#include "explain/explain_file.h"

#include <filesystem>

#include "explain/overlay.h"
#include "models/ensemble.h"

namespace pneumoscan {
namespace fs = std::filesystem;

ExplanationFiles write_explanation(Predictor& predictor, const Image& image, const std::string& source_path,
                                   ExplainMethod method, int target, const std::string& out_dir, double alpha,
                                   int member) {
  ClassifierImpl& net = member < 0 ? predictor.net() : ensemble_member(predictor.net(), member);
  return write_explanation_files(explain(net, predictor.input_tensor(image), method, target), image,
                                 source_path, out_dir, alpha);
}

ExplanationFiles write_explanation_files(const Heatmap& heatmap, const Image& image,
                                         const std::string& source_path, const std::string& out_dir,
                                         double alpha) {
  ExplanationFiles files;
  files.heatmap = heatmap;
  const std::string stem = fs::path(source_path).stem().string();
  files.overlay_path = (fs::path(out_dir) / (stem + ".overlay.png")).string();
  files.heatmap_path = (fs::path(out_dir) / (stem + ".heatmap.png")).string();
  write_overlay_png(files.overlay_path, image, files.heatmap.map, alpha);
  write_heatmap_png16(files.heatmap_path, files.heatmap.map, image.pixels.size());
  return files;
}

}  // namespace pneumoscan
