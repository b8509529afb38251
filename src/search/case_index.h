#pragma once
// A searchable archive of past cases: a FAISS index of image embeddings
// (search/embedding.h) together with each image's path, label and patient and
// the fingerprint of the model that produced them, in one file.
//
// File layout: the line "PNEUMOSCAN-CASE-INDEX 1\n", an 8-byte little-endian
// length and a JSON header (format_version, model (with member), kind, dimension, cases,
// params, data_checksum), an 8-byte length and the index data: vectors, and
// IVF centroids or the HNSW graph (search/index_structure.h), never FAISS's
// own serialisation.
#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "data/sample.h"
#include "search/index_structure.h"

namespace pneumoscan {

// 2: a checksum of the FAISS index; 3: PneumoScan's own layout of the index data;
// 4: the ensemble member that was embedded (model.member). Format 3 reads as member -1.
inline constexpr int kCaseIndexFormatVersion = 4;
inline constexpr int kCaseIndexOldestReadableVersion = 3;

struct IndexedCase {
  std::string path;
  int label = -1;       // kNormal, kPneumonia or -1
  std::string patient;  // "" when unknown
};

struct ModelIdentity {
  std::string fingerprint;  // model_fingerprint()
  std::string name;         // for messages only
  std::string architecture;
  // The ensemble member whose features were embedded (0-based); -1: the whole
  // model (an ensemble's members side by side). Queries must embed the same way.
  int64_t member = -1;
};

// A found case; `similarity` is the cosine similarity (inner product of unit
// vectors), `distance` the Euclidean distance sqrt(2 - 2 * similarity).
struct SimilarCase {
  IndexedCase item;
  int64_t id = 0;
  double similarity = 0;
  double distance = 0;
};

// What a query must not return: its own file and its own patient's images.
struct QueryExclusion {
  std::string path;                   // compared after making both paths absolute and normal
  std::vector<std::string> patients;  // any match excludes; empty strings are ignored
};

class CaseIndex {
 public:
  // `embeddings` [N, D] unit vectors, one row per case.
  CaseIndex(const torch::Tensor& embeddings, std::vector<IndexedCase> cases, IndexKind kind,
            ModelIdentity model);
  ~CaseIndex();
  CaseIndex(CaseIndex&&) noexcept;
  CaseIndex& operator=(CaseIndex&&) noexcept;

  // Writes atomically; throws IoError naming the file.
  void save(const std::string& path) const;
  // Throws InputError naming the file when it is not a case index or is
  // corrupt (every size, parameter and graph edge is checked before use), and
  // ModelFileError when it is from a newer format or from formats 1-2 (FAISS's
  // own serialisation: rebuild it).
  static CaseIndex load(const std::string& path);

  // The k most similar cases to `query` (a [D] unit vector), best first,
  // skipping excluded ones (fewer than k only when the index runs out).
  std::vector<SimilarCase> search(const torch::Tensor& query, int64_t k,
                                  const QueryExclusion& exclusion = {}) const;

  // Throws ModelFileError naming `index_path` unless `fingerprint` is this index's model.
  void require_model(const std::string& fingerprint, const std::string& model_path,
                     const std::string& index_path) const;

  size_t size() const { return cases_.size(); }
  int64_t dimension() const;
  IndexKind kind() const { return kind_; }
  const ModelIdentity& model() const { return model_; }
  const std::vector<IndexedCase>& cases() const { return cases_; }

 private:
  CaseIndex() = default;
  std::unique_ptr<faiss::Index> index_;
  std::vector<IndexedCase> cases_;
  IndexKind kind_ = IndexKind::kFlat;
  ModelIdentity model_;
};

nlohmann::json to_json(const SimilarCase& found);

// Majority vote of the k nearest (patient-excluded) cases for each query,
// as accuracy per k; ties go to the label of the nearest case among them.
struct KnnAccuracy {
  int64_t k = 0;
  int64_t correct = 0;
  int64_t total = 0;
  double accuracy() const { return total == 0 ? 0.0 : static_cast<double>(correct) / total; }
};
std::vector<KnnAccuracy> knn_accuracy(const CaseIndex& index, const torch::Tensor& queries,
                                      const std::vector<Sample>& query_samples,
                                      const std::vector<int64_t>& ks);

}  // namespace pneumoscan
