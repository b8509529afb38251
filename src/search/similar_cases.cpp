#include "search/similar_cases.h"

#include <cstdio>

#include "core/errors.h"
#include "data/sample.h"
#include "search/embedding.h"

namespace pneumoscan {

QueryExclusion exclusion_for(const std::string& path, const Image& image) {
  QueryExclusion exclusion;
  exclusion.path = path;
  exclusion.patients.push_back(patient_from_filename(path));
  if (image.dicom && !image.dicom->patient_hash.empty())
    exclusion.patients.push_back(image.dicom->patient_hash);
  return exclusion;
}

ModelIdentity model_identity(Predictor& predictor, int64_t member) {
  const ModelMetadata& metadata = predictor.metadata();
  return {predictor.fingerprint(), metadata.name, metadata.spec.architecture, member};
}

void require_index_model(const CaseIndex& index, Predictor& predictor, const std::string& model_path,
                         const std::string& index_path) {
  index.require_model(model_identity(predictor).fingerprint, model_path, index_path);
  try {
    embedding_network(predictor, index.model().member);
  } catch (const UsageError& e) {
    throw InputError(index_path,
                     std::string("the index was built on a part of the model it does not have: ") + e.what());
  }
}

CaseFinder::CaseFinder(const std::string& index_path, Predictor& predictor, const std::string& model_path)
    : predictor_(predictor), index_(CaseIndex::load(index_path)) {
  require_index_model(index_, predictor_, model_path, index_path);
}

std::vector<SimilarCase> CaseFinder::find(const Image& image, const std::string& path, int64_t k) {
  const torch::Tensor query = embed_images(predictor_, {image}, index_.model().member)[0];
  return index_.search(query, k, exclusion_for(path, image));
}

std::string to_text(const SimilarCase& found, int rank) {
  char head[96];
  std::snprintf(head, sizeof head, "%d. similarity=%.4f distance=%.4f ", rank, found.similarity,
                found.distance);
  return head + (found.item.label >= 0 ? kClassNames[found.item.label] : std::string("unlabelled")) + " " +
         found.item.path;
}

}  // namespace pneumoscan
