#include "case/gate_fit.h"

#include <mutex>

#include "case/ood.h"
#include "core/errors.h"
#include "core/parallel.h"

namespace pneumoscan {
namespace {
constexpr size_t kBatch = 32;
}  // namespace

torch::Tensor case_embeddings(CaseAnalyzer& analyzer, const std::vector<std::string>& paths, int threads,
                              std::vector<std::string>& failures, const std::function<void(size_t)>& done) {
  std::vector<torch::Tensor> parts;
  for (size_t start = 0; start < paths.size(); start += kBatch) {
    const size_t count = std::min(kBatch, paths.size() - start);
    std::vector<torch::Tensor> rows(count);
    std::vector<std::string> problems(count);
    parallel_for(count, threads, [&](size_t i) {
      try {
        rows[i] = analyzer.model_input(decode_image(paths[start + i]));
      } catch (const std::exception& e) {
        problems[i] = e.what();
      }
    });
    std::vector<torch::Tensor> decoded;
    for (size_t i = 0; i < count; ++i) {
      if (rows[i].defined())
        decoded.push_back(rows[i]);
      else
        failures.push_back(problems[i]);
    }
    if (!decoded.empty()) parts.push_back(analyzer.embeddings_of(analyzer.forward_rows(torch::cat(decoded))));
    if (done) done(start + count);
  }
  if (parts.empty()) return torch::empty({0, 0});
  return torch::cat(parts).contiguous();
}

OodFit fit_ood_reference(CaseAnalyzer& analyzer, const std::vector<Sample>& train,
                         const std::vector<Sample>& validation, const OodFitOptions& options,
                         const FitProgress& progress) {
  if (train.empty()) throw UsageError("fitting the input check needs training images");
  if (validation.empty()) throw UsageError("fitting the input check needs validation images");
  if (!(options.pass_rate > 0.5 && options.pass_rate < 1.0))
    throw UsageError("pass rate must lie in (0.5, 1)");
  std::vector<std::string> reference_paths;
  for (int64_t i : sample_indices(static_cast<int64_t>(train.size()), options.references, options.seed))
    reference_paths.push_back(train[static_cast<size_t>(i)].path);
  std::vector<std::string> validation_paths;
  for (const Sample& s : validation) validation_paths.push_back(s.path);

  OodFit fit;
  fit.reference = case_embeddings(analyzer, reference_paths, options.threads, fit.failures, [&](size_t done) {
    if (progress) progress("reference", done, reference_paths.size());
  });
  if (fit.reference.size(0) < options.k)
    throw UsageError("fewer than k = " + std::to_string(options.k) + " training images could be decoded");
  const torch::Tensor validation_embeddings =
      case_embeddings(analyzer, validation_paths, options.threads, fit.failures, [&](size_t done) {
        if (progress) progress("validation", done, validation_paths.size());
      });
  if (validation_embeddings.size(0) == 0) throw UsageError("no validation image could be decoded");
  const torch::Tensor scores = ood_scores(validation_embeddings, fit.reference, options.k);
  fit.validation_scores.assign(scores.data_ptr<float>(), scores.data_ptr<float>() + scores.numel());

  OodReference& d = fit.description;
  d.k = options.k;
  d.pass_rate = options.pass_rate;
  d.limit = quantile(fit.validation_scores, options.pass_rate);
  d.references = fit.reference.size(0);
  d.dimension = fit.reference.size(1);
  size_t passed = 0;
  for (double s : fit.validation_scores) passed += s <= d.limit ? 1 : 0;
  d.record = {{"validation_images", fit.validation_scores.size()},
              {"validation_passed", passed},
              {"validation_median_score", quantile(fit.validation_scores, 0.5)},
              {"seed", options.seed},
              {"failures", fit.failures.size()}};
  return fit;
}

}  // namespace pneumoscan
