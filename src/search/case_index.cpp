#include "search/case_index.h"

#include <faiss/IndexHNSW.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/errors.h"
#include "core/hash.h"
#include "core/json_text.h"

namespace pneumoscan {
namespace {

const std::string kMagic = "PNEUMOSCAN-CASE-INDEX 1\n";

void append_length(std::string& bytes, uint64_t length) {
  for (int i = 0; i < 8; ++i) bytes.push_back(static_cast<char>((length >> (8 * i)) & 0xff));
}

// Reads an 8-byte little-endian length at `pos` and checks that many bytes follow.
uint64_t read_length(const std::string& bytes, size_t& pos, const std::string& path, const char* what) {
  if (bytes.size() - pos < 8) throw InputError(path, std::string("case index truncated before the ") + what);
  uint64_t length = 0;
  for (int i = 0; i < 8; ++i)
    length |= static_cast<uint64_t>(static_cast<unsigned char>(bytes[pos + i])) << (8 * i);
  pos += 8;
  if (length > bytes.size() - pos) throw InputError(path, std::string("case index truncated in the ") + what);
  return length;
}

std::string normal_path(const std::string& path) {
  std::error_code ec;
  const std::filesystem::path absolute = std::filesystem::absolute(path, ec);
  return (ec ? std::filesystem::path(path) : absolute).lexically_normal().string();
}

}  // namespace

CaseIndex::CaseIndex(const torch::Tensor& embeddings, std::vector<IndexedCase> cases, IndexKind kind,
                     ModelIdentity model)
    : cases_(std::move(cases)), kind_(kind), model_(std::move(model)) {
  if (embeddings.dim() != 2 || embeddings.size(0) != static_cast<int64_t>(cases_.size()))
    throw UsageError("case index: expected embeddings [" + std::to_string(cases_.size()) + ", D], got " +
                     c10::str(embeddings.sizes()));
  if (cases_.empty()) throw UsageError("case index: no images to index");
  const torch::Tensor x = embeddings.to(torch::kCPU, torch::kFloat32).contiguous();
  index_ = build_faiss_index(kind, x.data_ptr<float>(), x.size(0), x.size(1));
}

CaseIndex::~CaseIndex() = default;
CaseIndex::CaseIndex(CaseIndex&&) noexcept = default;
CaseIndex& CaseIndex::operator=(CaseIndex&&) noexcept = default;

int64_t CaseIndex::dimension() const { return index_->d; }

void CaseIndex::save(const std::string& path) const {
  nlohmann::json cases = nlohmann::json::array();
  for (const IndexedCase& c : cases_) cases.push_back({c.path, c.label, c.patient});
  nlohmann::json header = {{"format_version", kCaseIndexFormatVersion},
                           {"kind", to_string(kind_)},
                           {"dimension", dimension()},
                           {"model",
                            {{"fingerprint", model_.fingerprint},
                             {"name", model_.name},
                             {"architecture", model_.architecture},
                             {"member", model_.member}}},
                           {"cases", cases}};
  const EncodedIndex encoded = encode_faiss_index(*index_, kind_);
  header["params"] = encoded.params;
  header["data_checksum"] = hex64(fnv1a64(encoded.data.data(), encoded.data.size()));
  const std::string header_text = json_text(header);
  std::string bytes = kMagic;
  append_length(bytes, header_text.size());
  bytes += header_text;
  append_length(bytes, encoded.data.size());
  bytes += encoded.data;
  write_file_atomically(path, bytes);
}

CaseIndex CaseIndex::load(const std::string& path) {
  const std::string bytes = read_file(path);
  if (bytes.compare(0, kMagic.size(), kMagic) != 0) throw InputError(path, "not a PneumoScan case index");
  size_t pos = kMagic.size();
  const uint64_t header_length = read_length(bytes, pos, path, "header");
  CaseIndex result;
  int64_t dimension = 0;
  std::string data_checksum;
  nlohmann::json params;
  try {
    const nlohmann::json header = nlohmann::json::parse(bytes.substr(pos, header_length));
    const int version = header.at("format_version").get<int>();
    if (version > kCaseIndexFormatVersion)
      throw ModelFileError(path, "case index format " + std::to_string(version) +
                                     " is newer than this program's (" +
                                     std::to_string(kCaseIndexFormatVersion) + ")");
    // Formats 1 and 2 held FAISS's own serialisation, which cannot be checked before FAISS reads it.
    if (version < kCaseIndexOldestReadableVersion)
      throw ModelFileError(path, "case index format " + std::to_string(version) +
                                     " is no longer read (its search structure could not be checked "
                                     "before use); rebuild it with `pneumoscan index build`");
    result.kind_ = index_kind_from_string(header.at("kind").get<std::string>());
    dimension = header.at("dimension").get<int64_t>();
    data_checksum = header.at("data_checksum").get<std::string>();
    params = header.at("params");
    const nlohmann::json& model = header.at("model");
    result.model_ = {model.at("fingerprint").get<std::string>(), model.at("name").get<std::string>(),
                     model.at("architecture").get<std::string>()};
    if (version >= 4) result.model_.member = model.at("member").get<int64_t>();
    if (result.model_.member < -1)
      throw UsageError("member " + std::to_string(result.model_.member) + " out of range");
    for (const nlohmann::json& c : header.at("cases")) {
      const int label = c.at(1).get<int>();
      if (label < -1 || label > kPneumonia)
        throw UsageError("case label " + std::to_string(label) + " out of range");
      result.cases_.push_back({c.at(0).get<std::string>(), label, c.at(2).get<std::string>()});
    }
  } catch (const nlohmann::json::exception& e) {
    throw InputError(path, "corrupt case index header: " + json_problem(e));
  } catch (const UsageError& e) {
    throw InputError(path, std::string("corrupt case index header: ") + e.what());
  }
  pos += header_length;
  const uint64_t data_length = read_length(bytes, pos, path, "index data");
  if (pos + data_length != bytes.size()) throw InputError(path, "case index has trailing bytes");
  const std::string data = bytes.substr(pos, data_length);
  if (hex64(fnv1a64(data.data(), data.size())) != data_checksum)
    throw InputError(path, "damaged case index: its data does not match its checksum; rebuild the index");
  result.index_ = decode_faiss_index(result.kind_, static_cast<int64_t>(result.cases_.size()), dimension,
                                     params, data, path);
  return result;
}

void CaseIndex::require_model(const std::string& fingerprint, const std::string& model_path,
                              const std::string& index_path) const {
  if (fingerprint != model_.fingerprint)
    throw ModelFileError(index_path, "built with a different model ('" + model_.name + "', " +
                                         model_.architecture + ", fingerprint " + model_.fingerprint +
                                         ") than " + model_path + " (fingerprint " + fingerprint +
                                         "); rebuild the index with this model or pass the index's model");
}

std::vector<SimilarCase> CaseIndex::search(const torch::Tensor& query, int64_t k,
                                           const QueryExclusion& exclusion) const {
  const torch::Tensor q = query.to(torch::kCPU, torch::kFloat32).contiguous().view({-1});
  if (q.numel() != dimension())
    throw UsageError("case index: query has dimension " + std::to_string(q.numel()) + ", the index " +
                     std::to_string(dimension()));
  std::vector<SimilarCase> found;
  if (k <= 0) return found;
  const std::string own_path = exclusion.path.empty() ? "" : normal_path(exclusion.path);
  const auto excluded = [&](const IndexedCase& c) {
    for (const std::string& patient : exclusion.patients)
      if (!patient.empty() && patient == c.patient) return true;
    return !own_path.empty() && normal_path(c.path) == own_path;
  };
  const int64_t total = index_->ntotal;
  // Asks for a few more than k, and for more again while exclusions eat them.
  for (int64_t fetch = std::min(total, k + 16);; fetch = std::min(total, fetch * 4)) {
    if (auto* hnsw = dynamic_cast<faiss::IndexHNSWFlat*>(index_.get()))
      hnsw->hnsw.efSearch = std::max<int>(hnsw->hnsw.efSearch, static_cast<int>(fetch));
    std::vector<float> scores(fetch);
    std::vector<faiss::Index::idx_t> ids(fetch);
    index_->search(1, q.data_ptr<float>(), fetch, scores.data(), ids.data());
    found.clear();
    for (int64_t i = 0; i < fetch && static_cast<int64_t>(found.size()) < k; ++i) {
      if (ids[i] < 0) continue;  // approximate indexes may return fewer than asked
      const IndexedCase& c = cases_[ids[i]];
      if (excluded(c)) continue;
      const double similarity = scores[i];
      found.push_back({c, ids[i], similarity, std::sqrt(std::max(0.0, 2.0 - 2.0 * similarity))});
    }
    if (static_cast<int64_t>(found.size()) >= k || fetch >= total) break;
  }
  return found;
}

nlohmann::json to_json(const SimilarCase& found) {
  return {{"path", found.item.path},
          {"label", found.item.label >= 0 ? kClassNames[found.item.label] : ""},
          {"patient", found.item.patient},
          {"similarity", found.similarity},
          {"distance", found.distance}};
}

std::vector<KnnAccuracy> knn_accuracy(const CaseIndex& index, const torch::Tensor& queries,
                                      const std::vector<Sample>& query_samples,
                                      const std::vector<int64_t>& ks) {
  std::vector<KnnAccuracy> result;
  for (int64_t k : ks) result.push_back({k, 0, 0});
  if (ks.empty()) return result;
  const int64_t largest = *std::max_element(ks.begin(), ks.end());
  for (size_t i = 0; i < query_samples.size(); ++i) {
    const Sample& sample = query_samples[i];
    if (sample.label < 0) continue;
    const std::vector<SimilarCase> found =
        index.search(queries[static_cast<int64_t>(i)], largest, {sample.path, {sample.patient}});
    for (KnnAccuracy& entry : result) {
      int votes[2] = {0, 0};
      const size_t n = std::min<size_t>(entry.k, found.size());
      for (size_t j = 0; j < n; ++j)
        if (found[j].item.label == kNormal || found[j].item.label == kPneumonia) ++votes[found[j].item.label];
      int predicted = votes[kPneumonia] > votes[kNormal] ? kPneumonia : kNormal;
      if (votes[kPneumonia] == votes[kNormal] && n > 0) predicted = found.front().item.label;
      ++entry.total;
      if (predicted == sample.label) ++entry.correct;
    }
  }
  return result;
}

}  // namespace pneumoscan
