#pragma once
// Making and damaging LibTorch archives and pickles byte by byte, for the
// tests of the checks that stand between them and LibTorch's readers.
#include <caffe2/serialize/inline_container.h>
#include <gtest/gtest.h>
#include <torch/csrc/jit/serialization/pickle.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace pneumoscan::test {

// The bytes LibTorch's pickler writes for `value` (tensors left out).
inline std::vector<char> raw_pickle(const c10::IValue& value) {
  std::vector<at::Tensor> tensors;
  return torch::jit::pickle(value, &tensors);
}

// Writes `value` little-endian over the 4 bytes at `at`.
inline void put_u32(char* at, uint32_t value) {
  for (int i = 0; i < 4; ++i) at[i] = static_cast<char>((value >> (8 * i)) & 0xff);
}

// The offset of the first occurrence of `needle` in `bytes` (fails the test when absent).
inline size_t find(const std::vector<char>& bytes, const std::string& needle) {
  auto found = std::search(bytes.begin(), bytes.end(), needle.begin(), needle.end());
  EXPECT_NE(found, bytes.end()) << "no '" << needle << "' in the bytes";
  return static_cast<size_t>(found - bytes.begin());
}

// Copies the zip archive at `from` to `to`, passing each record through `edit`
// (which may change its bytes) and leaving out those for which it returns false.
inline void rewrite_archive(const std::string& from, const std::string& to,
                            const std::function<bool(const std::string&, std::string&)>& edit) {
  caffe2::serialize::PyTorchStreamReader reader(from);
  caffe2::serialize::PyTorchStreamWriter writer(to);
  writer.setMinVersion(reader.version());
  for (const std::string& name : reader.getAllRecords()) {
    if (name == "version" || name == ".data/version") continue;  // writeEndOfFile writes it
    auto [data, size] = reader.getRecord(name);
    std::string bytes(static_cast<const char*>(data.get()), size);
    if (edit(name, bytes)) writer.writeRecord(name, bytes.data(), bytes.size());
  }
  writer.writeEndOfFile();
}

}  // namespace pneumoscan::test
