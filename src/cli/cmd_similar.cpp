// pneumoscan similar: the most similar past cases in an index for X-ray files.
#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "core/errors.h"
#include "core/json_text.h"
#include "infer/predictor.h"
#include "search/similar_cases.h"

namespace pneumoscan::cli {
namespace {

struct SimilarArgs {
  std::string model, index;
  int64_t k = 5;
  bool json = false;
  std::vector<std::string> files;
};

int run_similar(const SimilarArgs& args) {
  const std::string model_path = model_or_default(args.model);
  Predictor predictor(model_path, {c10::Device(c10::kCPU), /*with_fingerprint=*/true});
  CaseFinder finder(args.index, predictor, model_path);
  int failures = 0;
  nlohmann::json results = nlohmann::json::array();
  for (const std::string& file : args.files) {
    try {
      const std::vector<SimilarCase> found = finder.find(decode_image(file), file, args.k);
      if (args.json) {
        nlohmann::json cases = nlohmann::json::array();
        for (const SimilarCase& c : found) cases.push_back(to_json(c));
        results.push_back({{"file", file}, {"similar", cases}});
      } else {
        std::printf("%s\n", file.c_str());
        for (size_t i = 0; i < found.size(); ++i)
          std::printf("  %s\n", to_text(found[i], static_cast<int>(i + 1)).c_str());
      }
    } catch (const Error& e) {
      ++failures;
      std::cerr << "error: " << e.what() << "\n";
      if (args.json) results.push_back({{"file", file}, {"error", e.what()}});
    }
  }
  if (args.json)
    std::printf(
        "%s\n",
        json_text({{"index", args.index}, {"model", predictor.metadata().name}, {"results", results}}, 2)
            .c_str());
  return failures == 0 ? 0 : 2;
}

std::function<int()> add_similar(CLI::App& app) {
  auto args = std::make_shared<SimilarArgs>();
  CLI::App* cmd = app.add_subcommand(
      "similar",
      "The K most similar past cases (cosine similarity of embeddings) for each X-ray file, leaving out the "
      "file itself and its patient's images. Exit code 2 when any file failed");
  cmd->add_option("--index", args->index, "Index file (pneumoscan index build)")->required();
  add_model_option(cmd, args->model, "Model the index was built with");
  cmd->add_option("-k", args->k, "Number of cases per file")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--json", args->json, "Print JSON");
  cmd->add_option("files", args->files, "X-ray files")->required();
  return [args] { return run_similar(*args); };
}

}  // namespace

PNEUMOSCAN_COMMAND(similar, add_similar);

}  // namespace pneumoscan::cli
