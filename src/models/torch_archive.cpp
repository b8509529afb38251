#include "models/torch_archive.h"

#include <ATen/core/jit_type.h>
#include <caffe2/serialize/inline_container.h>
#include <torch/csrc/jit/api/compilation_unit.h>
#include <torch/csrc/jit/serialization/import_read.h>
#include <torch/csrc/jit/serialization/storage_context.h>

#include <cctype>
#include <fstream>
#include <memory>
#include <unordered_set>
#include <utility>
#include <vector>

#include "core/archive_bounds.h"
#include "core/errors.h"
#include "core/text.h"

namespace pneumoscan {
namespace {

constexpr const char* kStateSlot = "__pickled_state__";
constexpr int kMaxTypeDepth = 8;

class TypeText {
 public:
  explicit TypeText(const std::string& text) : text_(text) {}

  c10::TypePtr parse_all() {
    c10::TypePtr type = parse(0);
    skip_spaces();
    if (at_ != text_.size()) fail();
    return type;
  }

 private:
  [[noreturn]] void fail() const {
    TORCH_CHECK(false, "unexpected type in a model file: ", text_.substr(0, 80));
  }

  void skip_spaces() {
    while (at_ < text_.size() && text_[at_] == ' ') ++at_;
  }

  std::string name() {
    skip_spaces();
    const size_t start = at_;
    while (at_ < text_.size() && (std::isalnum(static_cast<unsigned char>(text_[at_])) || text_[at_] == '_'))
      ++at_;
    return text_.substr(start, at_ - start);
  }

  bool take(char c) {
    skip_spaces();
    if (at_ < text_.size() && text_[at_] == c) {
      ++at_;
      return true;
    }
    return false;
  }

  std::vector<c10::TypePtr> arguments(int depth) {
    std::vector<c10::TypePtr> found;
    if (!take('[')) fail();
    if (take(']')) return found;  // Tuple[]
    do found.push_back(parse(depth + 1));
    while (take(','));
    if (!take(']')) fail();
    return found;
  }

  c10::TypePtr parse(int depth) {
    if (depth > kMaxTypeDepth) fail();
    const std::string word = name();
    if (word == "Tensor") return c10::TensorType::get();
    if (word == "str") return c10::StringType::get();
    if (word == "int") return c10::IntType::get();
    if (word == "float") return c10::FloatType::get();
    if (word == "bool") return c10::BoolType::get();
    if (word == "NoneType") return c10::NoneType::get();
    if (word == "Any") return c10::AnyType::get();
    if (word == "Dict") {
      const auto of = arguments(depth);
      if (of.size() != 2) fail();
      return c10::DictType::create(of[0], of[1]);
    }
    if (word == "List" || word == "Optional") {
      const auto of = arguments(depth);
      if (of.size() != 1) fail();
      return word == "List" ? c10::TypePtr(c10::ListType::create(of[0]))
                            : c10::TypePtr(c10::OptionalType::create(of[0]));
    }
    if (word == "Tuple") return c10::TupleType::create(arguments(depth));
    fail();
  }

  const std::string& text_;
  size_t at_ = 0;
};

}  // namespace

c10::TypePtr parse_archive_type(const std::string& text) { return TypeText(text).parse_all(); }

namespace {

// A module read by read_archive_value is an object holding its pickled state.
c10::IValue unwrap_module(const c10::IValue& value) {
  if (value.isObject() && value.toObjectRef().type()->findAttributeSlot(kStateSlot))
    return value.toObjectRef().getSlot(0);
  return value;
}

}  // namespace

c10::IValue archive_attribute(const c10::IValue& module, const std::string& key) {
  const c10::IValue dict = unwrap_module(module);
  if (!dict.isGenericDict()) return c10::IValue();
  for (const auto& entry : dict.toGenericDict())
    if (entry.key().isString() && entry.key().toStringRef() == key) return unwrap_module(entry.value());
  return c10::IValue();
}

uint64_t bytes_spanned(const at::Tensor& t) {
  // Sizes, strides and offset come from the file, unchecked: a negative one,
  // or a span that overflows, counts as too far. (A negative offset once
  // wrapped round to a span of 0 bytes: offset -1 with one element passed.)
  // LibTorch refuses a negative size only when no other dimension is 0.
  for (int64_t d = 0; d < t.dim(); ++d)
    if (t.size(d) < 0) return UINT64_MAX;
  if (t.numel() == 0) return 0;
  if (t.storage_offset() < 0) return UINT64_MAX;
  uint64_t last = static_cast<uint64_t>(t.storage_offset());
  for (int64_t d = 0; d < t.dim(); ++d) {
    uint64_t step = 0;
    if (t.stride(d) < 0 ||
        __builtin_mul_overflow(static_cast<uint64_t>(t.size(d) - 1), static_cast<uint64_t>(t.stride(d)),
                               &step) ||
        __builtin_add_overflow(last, step, &last))
      return UINT64_MAX;
  }
  uint64_t bytes = 0;
  if (last == UINT64_MAX || __builtin_mul_overflow(last + 1, static_cast<uint64_t>(t.element_size()), &bytes))
    return UINT64_MAX;
  return bytes;
}

namespace {

// Each storage is its record, exactly, so a tensor lies in the file when it
// lies in its storage. LibTorch's unpickler takes sizes, strides and offset
// from the pickle unchecked, and builds quantized tensors too, which no
// PneumoScan file holds (fuzz/fuzz_checkpoint: LibTorch threw on copying one).
void check_tensor(const at::Tensor& t, const std::string& name, const std::string& path,
                  const std::string& kind) {
  if (!t.defined()) return;
  const std::string what = name.empty() ? std::string("a tensor") : quoted_excerpt(name);
  if (!t.device().is_cpu() || t.is_quantized() || t.layout() != at::kStrided)
    throw ModelFileError(
        path, "damaged " + kind + ": " + what +
                  " is not a plain tensor (quantized or sparse); PneumoScan reads plain ones only");
  const uint64_t held = t.storage().nbytes();
  const uint64_t spanned = bytes_spanned(t);
  if (spanned == UINT64_MAX)
    throw ModelFileError(
        path, "damaged " + kind + ": " + what + " has a shape and strides that reach past any file");
  if (spanned > held)
    throw ModelFileError(path, "damaged " + kind + ": " + what + " needs " + std::to_string(spanned) +
                                   " bytes, the file holds " + std::to_string(held) +
                                   " (emptied or cut short)");
}

// Checks every tensor in `root`, named by the innermost string key above it.
// Iterative, and each container visited once: the pickle decides the nesting
// depth and can make a list hold itself.
void check_tensors(const c10::IValue& root, const std::string& path, const std::string& kind) {
  std::vector<std::pair<c10::IValue, std::string>> pending{{root, std::string()}};
  std::unordered_set<const void*> seen;
  while (!pending.empty()) {
    const auto [value, name] = std::move(pending.back());
    pending.pop_back();
    if (value.isTensor()) {
      check_tensor(value.toTensor(), name, path, kind);
      continue;
    }
    if (!value.isPtrType() || !seen.insert(value.internalToPointer()).second) continue;
    if (value.isGenericDict()) {
      for (const auto& entry : value.toGenericDict()) {
        pending.emplace_back(entry.key(), name);
        pending.emplace_back(entry.value(), entry.key().isString() ? entry.key().toStringRef() : name);
      }
    } else if (value.isList()) {
      for (const c10::IValue& element : value.toListRef()) pending.emplace_back(element, name);
    } else if (value.isTuple()) {
      for (const c10::IValue& element : value.toTupleRef().elements()) pending.emplace_back(element, name);
    } else if (value.isObject()) {
      const auto& object = value.toObjectRef();
      for (size_t i = 0; i < object.slots().size(); ++i) pending.emplace_back(object.getSlot(i), name);
    }
  }
}

}  // namespace

c10::IValue read_archive_value(const std::string& path, const std::string& kind,
                               const std::string& not_an_archive) {
  if (!std::ifstream(path, std::ios::binary)) throw ModelFileError(path, "cannot open " + kind);
  // LibTorch trusts the lengths the file declares.
  const std::vector<ArchiveRecord> records = archive_records(path, kind);
  std::unique_ptr<caffe2::serialize::PyTorchStreamReader> reader;
  try {
    reader = std::make_unique<caffe2::serialize::PyTorchStreamReader>(path);
  } catch (const std::exception&) {
    throw ModelFileError(path, not_an_archive);
  }
  // Every tensor storage is its record, at the record's size: LibTorch's
  // unpickler would size a storage by the element count the pickle claims
  // over a record of any size (a claimed size swapped between two records
  // read past the smaller one: fuzz/fuzz_model_file).
  auto storages = std::make_shared<torch::jit::DeserializationStorageContext>();
  try {
    for (const ArchiveRecord& record : records) {
      const std::string key = tensor_record_key(record.name);
      if (key.empty()) continue;
      if (storages->hasStorage(key))
        throw ModelFileError(path, "damaged " + kind + " (two records of tensor " + key + ")");
      auto [data, size] = reader->getRecord("data/" + key);
      storages->addStorage(
          key, c10::Storage(c10::Storage::use_byte_size_t(), size, std::move(data), nullptr, false));
    }
  } catch (const Error&) {
    throw;
  } catch (const std::exception&) {
    throw ModelFileError(path, "damaged " + kind + " (its archive cannot be read)");
  }
  // Every class is an empty one holding the state it was pickled with: no
  // code record is compiled (LibTorch's importer would compile them all).
  auto unit = std::make_shared<torch::jit::CompilationUnit>();
  c10::IValue value;
  try {
    value = torch::jit::readArchiveAndTensors(
        "data", /*pickle_prefix=*/"", /*tensor_prefix=*/"",
        torch::jit::TypeResolver([&](const c10::QualifiedName& name) {
          // Type tags ("Dict[str, Tensor]") come here in LibTorch 1.13; the
          // rest are OutputArchive's modules ("__torch__.Module", or mangled
          // "__torch__.___torch_mangle_N.Module").
          if (name.qualifiedName().rfind("__torch__.", 0) != 0)
            return c10::StrongTypePtr(unit, parse_archive_type(name.qualifiedName()));
          auto type = c10::ClassType::create(name, unit);
          type->addAttribute(kStateSlot, c10::AnyType::get());
          return c10::StrongTypePtr(unit, type);
        }),
        torch::jit::ObjLoader([](const c10::StrongTypePtr& type, c10::IValue state) {
          auto object = c10::ivalue::Object::create(type, 1);
          object->setSlot(0, std::move(state));
          return object;
        }),
        c10::Device(c10::kCPU), *reader, &parse_archive_type, storages);
  } catch (const Error&) {
    throw;
  } catch (const std::exception&) {
    throw ModelFileError(path, "damaged " + kind + " (its archive cannot be read)");
  }
  check_tensors(value, path, kind);
  return unwrap_module(value);
}

}  // namespace pneumoscan
