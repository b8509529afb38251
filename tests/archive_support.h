#pragma once
// Rewriting LibTorch archives record by record, for the tests that damage
// model files and code files the way a disk or a stranger would.
#include <caffe2/serialize/inline_container.h>

#include <functional>
#include <string>

namespace pneumoscan::test {

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
