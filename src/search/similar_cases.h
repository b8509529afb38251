#pragma once
// Finding past cases like a new X-ray: a case index opened for one model,
// queried with decoded images. Shared by `similar` and `predict --similar`.
#include <cstdint>
#include <string>
#include <vector>

#include "image/image.h"
#include "infer/predictor.h"
#include "search/case_index.h"

namespace pneumoscan {

// The query's own file and patient: the patient from a Kermany file name
// (patient_from_filename) and, for DICOM, the pseudonymised patient hash.
QueryExclusion exclusion_for(const std::string& path, const Image& image);

class CaseFinder {
 public:
  // Loads the index and refuses it as require_index_model does. Queries are
  // embedded as the index was: by the ensemble member it names, or by the
  // whole model.
  CaseFinder(const std::string& index_path, Predictor& predictor, const std::string& model_path);

  // The k most similar indexed cases, excluding the query file and its patient.
  std::vector<SimilarCase> find(const Image& image, const std::string& path, int64_t k);

  const CaseIndex& index() const { return index_; }

 private:
  Predictor& predictor_;
  CaseIndex index_;
};

// One line for text output: "<rank>. similarity=0.9731 distance=0.2320 PNEUMONIA <path>".
std::string to_text(const SimilarCase& found, int rank);

// Refuses `index` for the predictor's model: ModelFileError naming
// `index_path` when it was built with another model (`model_path` is only
// used in the message), InputError naming it when it names an ensemble member
// the model does not have.
void require_index_model(const CaseIndex& index, Predictor& predictor, const std::string& model_path,
                         const std::string& index_path);

// The fingerprint and names of the predictor's model, as stored in an index
// whose embeddings come from `member` of it (-1: the whole model).
ModelIdentity model_identity(Predictor& predictor, int64_t member = -1);

}  // namespace pneumoscan
