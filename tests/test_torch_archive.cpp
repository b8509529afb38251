// Tests of src/models/torch_archive (LibTorch archives read as data): every
// tensor in what it returns lies inside its record and is a plain tensor,
// whatever file kind asks, so no caller reads past the file; type tags are
// parsed from the short list PneumoScan's files hold.
#include <gtest/gtest.h>
#include <torch/csrc/jit/serialization/pickle.h>
#include <torch/torch.h>

#include <algorithm>
#include <string>
#include <vector>

#include "archive_support.h"
#include "core/atomic_file.h"
#include "core/errors.h"
#include "models/pretrained.h"
#include "models/registry.h"
#include "models/torch_archive.h"
#include "test_support.h"

using namespace pneumoscan;

namespace {

void write_pickle_archive(const std::string& path, const c10::IValue& value) {
  const std::vector<char> bytes = torch::jit::pickle_save(value);
  write_file_atomically(path, std::string(bytes.begin(), bytes.end()));
}

// The message read_archive_value throws for `path`, or "" when it reads.
std::string read_error(const std::string& path) {
  try {
    read_archive_value(path, "weights file", "not a weights file");
  } catch (const ModelFileError& e) {
    return e.what();
  }
  return "";
}

// Copies `from` to `to` with every tensor record cut to `keep` bytes.
void cut_tensor_records(const std::string& from, const std::string& to, size_t keep) {
  test::rewrite_archive(from, to, [&](const std::string& name, std::string& bytes) {
    if (name.rfind("data/", 0) == 0)
      bytes.resize(std::min(bytes.size(), keep));  // names without the archive's folder
    return true;
  });
}

}  // namespace

TEST(TorchArchive, TensorsCutShortAreRefusedNamingTheirEntry) {
  test::TempDir dir;
  // A tensor deep in lists and tuples is named by the dict key above it.
  c10::impl::GenericList nested(c10::AnyType::get());
  nested.push_back(c10::ivalue::Tuple::create({c10::IValue(torch::ones({4, 4}))}));
  c10::impl::GenericDict dict(c10::StringType::get(), c10::AnyType::get());
  dict.insert("layer.weight", c10::IValue(nested));
  write_pickle_archive(dir / "whole.pt", c10::IValue(dict));
  EXPECT_EQ(read_error(dir / "whole.pt"), "");
  for (const size_t keep : {size_t{0}, size_t{10}}) {
    const std::string cut = dir / ("cut" + std::to_string(keep) + ".pt");
    cut_tensor_records(dir / "whole.pt", cut, keep);
    EXPECT_EQ(read_error(cut), cut +
                                   ": damaged weights file: 'layer.weight' needs 64 bytes, the file holds " +
                                   std::to_string(keep) + " (emptied or cut short)");
  }
}

// Entry names come from the file: the message quotes them cut short and on one line.
TEST(TorchArchive, EntryNamesInMessagesStayOneShortLine) {
  test::TempDir dir;
  c10::Dict<std::string, at::Tensor> dict;
  dict.insert("evil\nname" + std::string(500, 'x'), torch::ones({4}));
  write_pickle_archive(dir / "whole.pt", c10::IValue(dict));
  cut_tensor_records(dir / "whole.pt", dir / "cut.pt", 0);
  const std::string message = read_error(dir / "cut.pt");
  EXPECT_EQ(message.rfind(dir / "cut.pt" + ": damaged weights file: 'evil?name", 0), 0u) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  EXPECT_LT(message.size(), 300u) << message;
}

TEST(TorchArchive, QuantizedTensorsAreRefused) {
  test::TempDir dir;
  c10::Dict<std::string, at::Tensor> dict;
  dict.insert("fc.weight", torch::quantize_per_tensor(torch::ones({2, 2}), 0.1, 0, torch::kQInt8));
  write_pickle_archive(dir / "quantized.pt", c10::IValue(dict));
  const std::string message = read_error(dir / "quantized.pt");
  EXPECT_EQ(
      message.rfind(dir / "quantized.pt" + ": damaged weights file: 'fc.weight' is not a plain tensor", 0),
      0u)
      << message;
}

// Before the check sat in read_archive_value, the pretrained import was the one
// reader that did not check: a cut record was read past its end while casting.
TEST(TorchArchive, APretrainedFileCutShortIsAClearErrorNotARead) {
  test::TempDir dir;
  Classifier net = create_model({"resnet18", 64, 1, 2});
  c10::Dict<std::string, at::Tensor> dict;
  dict.insert("conv1.weight", torch::randn({64, 1, 7, 7}).to(torch::kHalf));
  write_pickle_archive(dir / "whole.pt", c10::IValue(dict));
  EXPECT_EQ(import_pretrained(*net, dir / "whole.pt").matched.size(), 1u);
  cut_tensor_records(dir / "whole.pt", dir / "cut.pt", 0);
  try {
    import_pretrained(*net, dir / "cut.pt");
    FAIL() << "a pretrained file cut short was imported";
  } catch (const ModelFileError& e) {
    EXPECT_EQ(std::string(e.what()),
              dir / "cut.pt" +
                  ": damaged pretrained weights file: 'conv1.weight' needs 6272 bytes, "
                  "the file holds 0 (emptied or cut short)");
  }
}

// A pickle may give a tensor a negative offset into its record: it once
// passed as 0 bytes spanned, and reading it read before the record.
TEST(TorchArchive, ATensorStartingBeforeItsRecordIsRefused) {
  test::TempDir dir;
  at::Tensor t = torch::ones({4});
  const std::vector<int64_t> one{1};
  t.unsafeGetTensorImpl()->set_sizes_and_strides(one, one);
  t.unsafeGetTensorImpl()->set_storage_offset(-1);
  c10::impl::GenericDict dict(c10::StringType::get(), c10::AnyType::get());
  dict.insert("fc.bias", c10::IValue(t));
  write_pickle_archive(dir / "before.pt", c10::IValue(dict));
  EXPECT_EQ(read_error(dir / "before.pt"),
            dir / "before.pt" +
                ": damaged weights file: 'fc.bias' has a shape and strides that reach past any file");
}

// Sizes, strides and offset come from the pickle unchecked (LibTorch's
// unpickler sets them on the tensor as they are): overflow counts as too far.
TEST(TorchArchive, BytesSpannedCountsOverflowAsTooFar) {
  auto spanned = [](std::vector<int64_t> sizes, std::vector<int64_t> strides, int64_t offset = 0) {
    at::Tensor t = torch::ones({3});
    t.unsafeGetTensorImpl()->set_sizes_and_strides(sizes, strides);
    t.unsafeGetTensorImpl()->set_storage_offset(offset);
    return bytes_spanned(t);
  };
  EXPECT_EQ(spanned({3}, {1}), 12u);
  EXPECT_EQ(spanned({2, 3}, {3, 1}, 1), 28u);
  EXPECT_EQ(spanned({0}, {1}), 0u);
  EXPECT_EQ(spanned({2}, {INT64_MAX / 2}), UINT64_MAX);
  EXPECT_EQ(spanned({3, 3}, {INT64_MAX / 2, INT64_MAX / 2}), UINT64_MAX);
  EXPECT_EQ(spanned({2}, {1}, INT64_MAX), UINT64_MAX);
  // Negative values from the pickle: an offset of -1 (or -3 before three
  // elements) once wrapped round to 0 bytes and passed, reading before the record.
  EXPECT_EQ(spanned({1}, {1}, -1), UINT64_MAX);
  EXPECT_EQ(spanned({3}, {1}, -3), UINT64_MAX);
  // LibTorch refuses a negative size (its element count overflows) unless
  // another dimension is 0.
  EXPECT_EQ(spanned({-1, 0}, {1, 1}), UINT64_MAX);
}

TEST(TorchArchive, TypeTagsAreParsedFromTheShortList) {
  using namespace c10;
  EXPECT_EQ(*parse_archive_type("Dict[str, Tensor]"),
            *DictType::create(StringType::get(), TensorType::get()));
  EXPECT_EQ(*parse_archive_type("List[Optional[Tuple[int, float, bool]]]"),
            *ListType::create(OptionalType::create(
                TupleType::create({IntType::get(), FloatType::get(), BoolType::get()}))));
  EXPECT_EQ(*parse_archive_type("Tuple[]"), *TupleType::create({}));
  for (const std::string bad : {"Dict[str]", "__torch__.Evil", "List[int", "Tensor extra", "Future[int]", ""})
    EXPECT_THROW(parse_archive_type(bad), c10::Error) << bad;
  std::string deep = "Tensor";
  for (int i = 0; i < 20; ++i) deep = "List[" + deep + "]";
  EXPECT_THROW(parse_archive_type(deep), c10::Error);
}
