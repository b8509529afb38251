#pragma once
// The FAISS index behind a case index: built from embeddings, and written and
// read in PneumoScan's own layout so that FAISS's reader never sees a file.
// FAISS's reader sizes its vectors from the bytes before reading them (a
// damaged size field asked for 128 GB) and trusts an HNSW graph as stored (a
// neighbour id past the end is read as memory); a checksum stops damage, not a
// crafted file. Here the vectors, IVF centroids and HNSW graph are plain
// arrays whose sizes follow from the header, checked before use, and FAISS's
// in-memory structures are rebuilt from them (IVF lists by assigning the
// vectors to the stored centroids, as building did; the HNSW graph as stored,
// every neighbour checked).
//
// Data layout (little-endian, no padding): flat: vectors float32 [n, d];
// ivf: vectors, centroids float32 [cells, d]; hnsw: vectors, levels int32 [n]
// (FAISS's: a node's top layer + 1), neighbours int32 [sum of each node's
// slots] (-1 = empty slot). `params` holds the rest (cells, probes; HNSW
// neighbours per layer, entry point, top layer, search breadths).
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

namespace faiss {
struct Index;
}

namespace pneumoscan {

// flat: exact inner product (IndexFlatIP). hnsw: graph search (IndexHNSWFlat,
// inner product), approximate, for large archives. ivf: inverted lists over
// k-means cells (IndexIVFFlat, inner product; trained on the embeddings).
enum class IndexKind { kFlat, kHnsw, kIvf };
std::string to_string(IndexKind kind);
// Throws UsageError naming the accepted values.
IndexKind index_kind_from_string(const std::string& name);

// `vectors` [n, d] row-major unit vectors.
std::unique_ptr<faiss::Index> build_faiss_index(IndexKind kind, const float* vectors, int64_t n, int64_t d);

struct EncodedIndex {
  nlohmann::json params;
  std::string data;
};
EncodedIndex encode_faiss_index(const faiss::Index& index, IndexKind kind);

// Rebuilds the index of `n` vectors of dimension `d` from what
// encode_faiss_index wrote. Throws InputError naming `path` when the sizes,
// parameters or graph are not consistent.
std::unique_ptr<faiss::Index> decode_faiss_index(IndexKind kind, int64_t n, int64_t d,
                                                 const nlohmann::json& params, const std::string& data,
                                                 const std::string& path);

}  // namespace pneumoscan
