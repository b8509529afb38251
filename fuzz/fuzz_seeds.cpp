// Writes seed inputs that ../shared does not hold, for scripts/fuzz.sh:
//   fuzz_seeds DIR  ->  DIR/model/tiny.psmodel, DIR/case_index/{flat,hnsw}.psindex
// (a small untrained network and indexes over random unit vectors: the
// fuzzers need the formats' structure, not meaningful contents).
#include <torch/torch.h>

#include <cstdio>
#include <filesystem>

#include "model_file/model_file.h"
#include "search/case_index.h"

int main(int argc, char** argv) {
  using namespace pneumoscan;
  if (argc != 2) {
    std::fprintf(stderr, "usage: fuzz_seeds DIR\n");
    return 2;
  }
  const std::filesystem::path dir = argv[1];
  std::filesystem::create_directories(dir / "model");
  std::filesystem::create_directories(dir / "case_index");
  torch::manual_seed(1);
  ModelMetadata metadata;
  metadata.name = "fuzz-seed";
  metadata.spec = {"small-cnn", 32, 1, 1};
  metadata.preprocess.input_size = 32;
  Classifier net = create_model(metadata.spec);
  save_model((dir / "model" / "tiny.psmodel").string(), metadata, *net);

  const torch::Tensor embeddings = torch::nn::functional::normalize(
      torch::randn({12, 8}), torch::nn::functional::NormalizeFuncOptions().dim(1));
  std::vector<IndexedCase> cases;
  for (int i = 0; i < 12; ++i)
    cases.push_back({"case" + std::to_string(i) + ".png", i % 2, "p" + std::to_string(i / 2)});
  const ModelIdentity model{"0123456789abcdef", "fuzz-seed", "small-cnn"};
  CaseIndex(embeddings, cases, IndexKind::kFlat, model).save((dir / "case_index" / "flat.psindex").string());
  CaseIndex(embeddings, cases, IndexKind::kHnsw, model).save((dir / "case_index" / "hnsw.psindex").string());
  return 0;
}
