// pneumoscan index build | knn: a similar-case index of a data set's
// embeddings, and the k-NN classification accuracy of those embeddings.
#include <cstdio>
#include <functional>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cli/command.h"
#include "cli/progress.h"
#include "core/errors.h"
#include "core/timing.h"
#include "data/sample.h"
#include "infer/predictor.h"
#include "search/case_index.h"
#include "search/embedding.h"
#include "search/similar_cases.h"

namespace pneumoscan::cli {
namespace {

DatasetEmbeddings embed_or_throw(Predictor& predictor, const std::string& data, const std::string& split,
                                 int batch_size, int64_t member) {
  std::vector<Sample> samples = read_dataset(data);
  if (!split.empty()) samples = select_split(samples, split);
  if (samples.empty())
    throw InputError(data, split.empty() ? "no images found" : "no images in split " + split);
  DatasetEmbeddings embedded;
  {
    StageBars bars;
    embedded =
        embed_dataset(predictor, samples, {batch_size, common_options().threads, member}, std::ref(bars));
  }
  for (const std::string& failure : embedded.failures) std::cerr << "warning: skipped " << failure << "\n";
  if (embedded.samples.empty()) throw InputError(data, "none of the images could be decoded");
  return embedded;
}

struct BuildArgs {
  std::string model, data, split, out, kind = "flat";
  int batch_size = 64;
  int64_t member = -1;
};

int run_build(const BuildArgs& args) {
  const IndexKind kind = index_kind_from_string(args.kind);
  const std::string model_path = model_or_default(args.model);
  Predictor predictor(model_path, {c10::Device(c10::kCPU), /*with_fingerprint=*/true});
  const auto start = Clock::now();
  DatasetEmbeddings embedded = embed_or_throw(predictor, args.data, args.split, args.batch_size, args.member);
  const double embed_seconds = seconds_since(start);
  std::vector<IndexedCase> cases;
  for (const Sample& s : embedded.samples) cases.push_back({s.path, s.label, s.patient});
  const auto index_start = Clock::now();
  const CaseIndex index(embedded.embeddings, std::move(cases), kind, model_identity(predictor, args.member));
  const double index_seconds = seconds_since(index_start);
  index.save(args.out);
  const std::string member = args.member < 0 ? std::string() : ", member " + std::to_string(args.member);
  std::printf("indexed %zu images (%zu skipped), dimension %lld, kind %s, model %s%s (fingerprint %s)\n",
              index.size(), embedded.failures.size(), static_cast<long long>(index.dimension()),
              to_string(kind).c_str(), index.model().name.c_str(), member.c_str(),
              index.model().fingerprint.c_str());
  std::printf("build time %.1f s (embedding %.1f s = %.2f ms/image, index %.3f s); wrote %s\n",
              seconds_since(start), embed_seconds, 1000 * embed_seconds / index.size(), index_seconds,
              args.out.c_str());
  return 0;
}

struct KnnArgs {
  std::string model, index, data, split;
  std::vector<int64_t> ks = {1, 5, 11};
  int batch_size = 64;
};

int run_knn(const KnnArgs& args) {
  for (int64_t k : args.ks)
    if (k < 1) throw UsageError("-k values must be at least 1");
  const std::string model_path = model_or_default(args.model);
  Predictor predictor(model_path, {c10::Device(c10::kCPU), /*with_fingerprint=*/true});
  const CaseIndex index = CaseIndex::load(args.index);
  require_index_model(index, predictor, model_path, args.index);
  const auto start = Clock::now();
  DatasetEmbeddings queries =
      embed_or_throw(predictor, args.data, args.split, args.batch_size, index.model().member);
  const double embed_seconds = seconds_since(start);
  const auto search_start = Clock::now();
  const std::vector<KnnAccuracy> results = knn_accuracy(index, queries.embeddings, queries.samples, args.ks);
  const double search_seconds = seconds_since(search_start);
  const double n = static_cast<double>(queries.samples.size());
  std::printf("index %s: %zu cases, kind %s; queries %s: %zu images (patient-excluded, majority vote)\n",
              args.index.c_str(), index.size(), to_string(index.kind()).c_str(), args.data.c_str(),
              queries.samples.size());
  for (const KnnAccuracy& r : results)
    std::printf("k=%-3lld accuracy %.4f (%lld/%lld)\n", static_cast<long long>(r.k), r.accuracy(),
                static_cast<long long>(r.correct), static_cast<long long>(r.total));
  std::printf("query time per image: embedding %.2f ms (batched), search %.3f ms (all k at once)\n",
              1000 * embed_seconds / n, 1000 * search_seconds / n);
  return 0;
}

std::function<int()> add_index(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand("index", "Similar-case indexes of X-ray embeddings");
  cmd->require_subcommand(1);

  auto build = std::make_shared<BuildArgs>();
  CLI::App* build_cmd = cmd->add_subcommand(
      "build", "Embed every image of a data set with a model and write a similar-case index file");
  add_model_option(build_cmd, build->model);
  build_cmd->add_option("--data", build->data, "Folder (standard layout or class folders) or .csv manifest")
      ->required();
  build_cmd->add_option("--split", build->split, "Only this split's rows (train, val or test)");
  build_cmd->add_option("--out", build->out, "Index file to write")->required();
  build_cmd->add_option("--kind", build->kind, "flat (exact), hnsw or ivf (approximate, for large archives)")
      ->capture_default_str();
  build_cmd->add_option("--batch-size", build->batch_size, "Images per forward pass")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  build_cmd
      ->add_option("--member", build->member,
                   "Ensembles: embed with member I (0-based) alone; `similar`, `predict --similar`, "
                   "`serve` and `index knn` then embed queries with it too. Default: all members' "
                   "features side by side")
      ->check(CLI::NonNegativeNumber);

  auto knn = std::make_shared<KnnArgs>();
  CLI::App* knn_cmd = cmd->add_subcommand(
      "knn",
      "Accuracy of a majority vote of the k nearest indexed cases (own patient excluded) on a data set");
  add_model_option(knn_cmd, knn->model);
  knn_cmd->add_option("--index", knn->index, "Index file")->required();
  knn_cmd->add_option("--data", knn->data, "Labelled query images: folder or .csv manifest")->required();
  knn_cmd->add_option("--split", knn->split, "Only this split's rows (train, val or test)");
  knn_cmd->add_option("-k", knn->ks, "Comma-separated k values")->delimiter(',')->capture_default_str();
  knn_cmd->add_option("--batch-size", knn->batch_size, "Images per forward pass")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);

  return [build_cmd, knn_cmd, build, knn] {
    if (build_cmd->parsed()) return run_build(*build);
    if (knn_cmd->parsed()) return run_knn(*knn);
    return 1;
  };
}

}  // namespace

PNEUMOSCAN_COMMAND(index, add_index);

}  // namespace pneumoscan::cli
