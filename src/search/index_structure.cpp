#include "search/index_structure.h"

#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIVFFlat.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "core/errors.h"

namespace pneumoscan {
namespace {

constexpr int kHnswNeighbours = 32;  // FAISS's usual M: good recall at a modest size
constexpr int64_t kMaxDimension = 1 << 16;
constexpr int64_t kMaxSearchBreadth = 1 << 16;

template <typename T>
void append_array(std::string& data, const T* values, size_t count) {
  data.append(reinterpret_cast<const char*>(values), count * sizeof(T));
}

// Reads the data block front to back, refusing to read past its end.
class DataReader {
 public:
  DataReader(const std::string& data, const std::string& path) : data_(data), path_(path) {}

  template <typename T>
  std::vector<T> array(uint64_t count, const char* what) {
    if (count > (data_.size() - pos_) / sizeof(T))
      throw InputError(path_, std::string("corrupt case index: its data ends inside the ") + what);
    std::vector<T> values(count);
    std::memcpy(values.data(), data_.data() + pos_, count * sizeof(T));
    pos_ += count * sizeof(T);
    return values;
  }
  void require_end() const {
    if (pos_ != data_.size()) throw InputError(path_, "corrupt case index: trailing bytes in its data");
  }

 private:
  const std::string& data_;
  const std::string& path_;
  size_t pos_ = 0;
};

int64_t integer_param(const nlohmann::json& params, const char* name, int64_t low, int64_t high,
                      const std::string& path) {
  const auto it = params.find(name);
  if (it == params.end() || !it->is_number_integer())
    throw InputError(path,
                     std::string("corrupt case index: no whole number '") + name + "' in its parameters");
  const int64_t value = it->get<int64_t>();
  if (value < low || value > high)
    throw InputError(path, std::string("corrupt case index: '") + name + "' is " + std::to_string(value) +
                               ", outside " + std::to_string(low) + ".." + std::to_string(high));
  return value;
}

std::unique_ptr<faiss::Index> decode_hnsw(const std::vector<float>& vectors, int64_t n, int64_t d,
                                          const nlohmann::json& params, DataReader& reader,
                                          const std::string& path) {
  const auto fail = [&](const std::string& problem) {
    return InputError(path, "corrupt case index: HNSW graph " + problem);
  };
  const int m = static_cast<int>(integer_param(params, "neighbours", 2, 1024, path));
  auto index = std::make_unique<faiss::IndexHNSWFlat>(static_cast<int>(d), m, faiss::METRIC_INNER_PRODUCT);
  faiss::HNSW& hnsw = index->hnsw;
  // Slots per node: cum[levels[i]]; layer l of node i is slots cum[l]..cum[l+1].
  const std::vector<int>& cum = hnsw.cum_nneighbor_per_level;
  const int layers = static_cast<int>(cum.size()) - 1;
  std::vector<int> levels = reader.array<int32_t>(static_cast<uint64_t>(n), "HNSW levels");
  std::vector<size_t> offsets(static_cast<size_t>(n) + 1, 0);
  int top = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (levels[i] < 1 || levels[i] > layers)
      throw fail("node " + std::to_string(i) + " has " + std::to_string(levels[i]) + " layers (1.." +
                 std::to_string(layers) + ")");
    top = std::max(top, levels[i]);
    offsets[i + 1] = offsets[i] + static_cast<size_t>(cum[levels[i]]);
  }
  std::vector<int> neighbours = reader.array<int32_t>(offsets.back(), "HNSW neighbours");
  for (int64_t node = 0; node < n; ++node)
    for (int layer = 0; layer < levels[node]; ++layer)
      for (size_t slot = offsets[node] + cum[layer]; slot < offsets[node] + cum[layer + 1]; ++slot) {
        const int other = neighbours[slot];
        if (other == -1) continue;
        // A neighbour on layer l is searched on layer l: it must reach that high.
        if (other < 0 || other >= n || levels[other] <= layer)
          throw fail("node " + std::to_string(node) + " lists " + std::to_string(other) +
                     " as a neighbour on layer " + std::to_string(layer));
      }
  const int64_t entry = integer_param(params, "entry_point", 0, n - 1, path);
  const int64_t max_level = integer_param(params, "max_level", 0, layers - 1, path);
  if (max_level != top - 1 || levels[entry] != top)
    throw fail("entry point " + std::to_string(entry) + " is not on the top layer " +
               std::to_string(top - 1));
  hnsw.levels = std::move(levels);
  hnsw.offsets = std::move(offsets);
  hnsw.neighbors = std::move(neighbours);
  hnsw.entry_point = static_cast<int>(entry);
  hnsw.max_level = static_cast<int>(max_level);
  hnsw.efConstruction =
      static_cast<int>(integer_param(params, "ef_construction", 1, kMaxSearchBreadth, path));
  hnsw.efSearch = static_cast<int>(integer_param(params, "ef_search", 1, kMaxSearchBreadth, path));
  hnsw.upper_beam = static_cast<int>(integer_param(params, "upper_beam", 1, kMaxSearchBreadth, path));
  index->storage->add(n, vectors.data());
  index->ntotal = n;
  index->is_trained = true;
  return index;
}

}  // namespace

std::string to_string(IndexKind kind) {
  switch (kind) {
    case IndexKind::kFlat:
      return "flat";
    case IndexKind::kHnsw:
      return "hnsw";
    case IndexKind::kIvf:
      return "ivf";
  }
  return "unknown";
}

IndexKind index_kind_from_string(const std::string& name) {
  if (name == "flat") return IndexKind::kFlat;
  if (name == "hnsw") return IndexKind::kHnsw;
  if (name == "ivf") return IndexKind::kIvf;
  throw UsageError("unknown index kind '" + name + "' (expected flat, hnsw or ivf)");
}

std::unique_ptr<faiss::Index> build_faiss_index(IndexKind kind, const float* x, int64_t n, int64_t d) {
  std::unique_ptr<faiss::Index> index;
  switch (kind) {
    case IndexKind::kFlat:
      index = std::make_unique<faiss::IndexFlatIP>(d);
      break;
    case IndexKind::kHnsw:
      index = std::make_unique<faiss::IndexHNSWFlat>(d, kHnswNeighbours, faiss::METRIC_INNER_PRODUCT);
      break;
    case IndexKind::kIvf: {
      // About 4 sqrt(n) cells, but at least 39 training points per cell (FAISS's minimum).
      const int64_t cells =
          std::max<int64_t>(1, std::min<int64_t>(std::lround(4 * std::sqrt(double(n))), n / 39));
      auto ivf = std::make_unique<faiss::IndexIVFFlat>(new faiss::IndexFlatIP(d), d, cells,
                                                       faiss::METRIC_INNER_PRODUCT);
      ivf->own_fields = true;
      ivf->nprobe = std::max<int64_t>(1, cells / 4);  // stored in the file
      ivf->cp.seed = 42;
      ivf->train(n, x);
      index = std::move(ivf);
      break;
    }
  }
  index->add(n, x);
  return index;
}

EncodedIndex encode_faiss_index(const faiss::Index& index, IndexKind kind) {
  EncodedIndex encoded{nlohmann::json::object(), {}};
  const size_t n = static_cast<size_t>(index.ntotal), d = static_cast<size_t>(index.d);
  switch (kind) {
    case IndexKind::kFlat:
      append_array(encoded.data, dynamic_cast<const faiss::IndexFlat&>(index).get_xb(), n * d);
      break;
    case IndexKind::kHnsw: {
      const auto& hnsw_index = dynamic_cast<const faiss::IndexHNSW&>(index);
      const faiss::HNSW& hnsw = hnsw_index.hnsw;
      append_array(encoded.data, dynamic_cast<const faiss::IndexFlat&>(*hnsw_index.storage).get_xb(), n * d);
      append_array(encoded.data, hnsw.levels.data(), hnsw.levels.size());
      append_array(encoded.data, hnsw.neighbors.data(), hnsw.neighbors.size());
      encoded.params = {{"neighbours", hnsw.nb_neighbors(1)}, {"entry_point", hnsw.entry_point},
                        {"max_level", hnsw.max_level},        {"ef_construction", hnsw.efConstruction},
                        {"ef_search", hnsw.efSearch},         {"upper_beam", hnsw.upper_beam}};
      break;
    }
    case IndexKind::kIvf: {
      const auto& ivf = dynamic_cast<const faiss::IndexIVFFlat&>(index);
      // The vectors back in their order, from the lists they were assigned to.
      std::vector<float> vectors(n * d);
      for (size_t list = 0; list < ivf.nlist; ++list) {
        const size_t size = ivf.invlists->list_size(list);
        faiss::InvertedLists::ScopedIds ids(ivf.invlists, list);
        faiss::InvertedLists::ScopedCodes codes(ivf.invlists, list);
        for (size_t j = 0; j < size; ++j)
          std::memcpy(&vectors[static_cast<size_t>(ids[j]) * d], codes.get() + j * d * sizeof(float),
                      d * sizeof(float));
      }
      append_array(encoded.data, vectors.data(), vectors.size());
      append_array(encoded.data, dynamic_cast<const faiss::IndexFlat&>(*ivf.quantizer).get_xb(),
                   ivf.nlist * d);
      encoded.params = {{"cells", ivf.nlist}, {"probes", ivf.nprobe}};
      break;
    }
  }
  return encoded;
}

std::unique_ptr<faiss::Index> decode_faiss_index(IndexKind kind, int64_t n, int64_t d,
                                                 const nlohmann::json& params, const std::string& data,
                                                 const std::string& path) {
  if (n < 1) throw InputError(path, "corrupt case index: it lists no cases");
  if (d < 1 || d > kMaxDimension)
    throw InputError(path, "corrupt case index: dimension " + std::to_string(d) + " outside 1.." +
                               std::to_string(kMaxDimension));
  if (!params.is_object()) throw InputError(path, "corrupt case index: its parameters are not an object");
  DataReader reader(data, path);
  // n * d cannot overflow: n is at most the data size over 4, d at most 2^16.
  if (static_cast<uint64_t>(n) > data.size())
    throw InputError(path, "corrupt case index: its data ends inside the vectors");
  const std::vector<float> vectors = reader.array<float>(static_cast<uint64_t>(n * d), "vectors");
  std::unique_ptr<faiss::Index> index;
  switch (kind) {
    case IndexKind::kFlat:
      index = std::make_unique<faiss::IndexFlatIP>(d);
      index->add(n, vectors.data());
      break;
    case IndexKind::kHnsw:
      index = decode_hnsw(vectors, n, d, params, reader, path);
      break;
    case IndexKind::kIvf: {
      const int64_t cells = integer_param(params, "cells", 1, n, path);
      const int64_t probes = integer_param(params, "probes", 1, cells, path);
      const std::vector<float> centroids = reader.array<float>(static_cast<uint64_t>(cells * d), "centroids");
      auto quantizer = std::make_unique<faiss::IndexFlatIP>(d);
      quantizer->add(cells, centroids.data());
      auto ivf =
          std::make_unique<faiss::IndexIVFFlat>(quantizer.release(), d, cells, faiss::METRIC_INNER_PRODUCT);
      ivf->own_fields = true;
      ivf->is_trained = true;
      ivf->nprobe = static_cast<size_t>(probes);
      ivf->add(n, vectors.data());  // each vector to its nearest centroid, as when the index was built
      index = std::move(ivf);
      break;
    }
  }
  reader.require_end();
  return index;
}

}  // namespace pneumoscan
