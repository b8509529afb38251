#pragma once
// Reads the value pickled in a LibTorch archive (model files written by
// torch::serialize::OutputArchive, state dicts written by torch.save) as data:
// LibTorch's own loaders compile the TorchScript code the archive carries
// (`code/__torch__.py`), and its compiler trusts that code: a model file with
// one byte changed in it (`__parXmeters__ = []`) made `pneumoscan info`
// die with SIGSEGV inside LibTorch's type parser. Here no code record is ever
// read: every class the pickle names becomes an empty class holding the state
// it was pickled with, and type tags are parsed from a short list of the types
// such files hold. The archive's lengths are checked first
// (core/archive_bounds.h), and it is read from the file through LibTorch's
// file reader (its in-memory reader, behind torch::pickle_load, read before
// its buffer on a mutated archive).
#include <ATen/core/ivalue.h>

#include <cstdint>
#include <string>

namespace pneumoscan {

// The pickled value of the archive at `path` (its "data.pkl" and the tensors
// it refers to, on the CPU). A pickled object (a module written by
// OutputArchive) comes back as the state it was pickled with: for a module,
// the dict of its attributes by name. Throws ModelFileError(path, ...):
// "cannot open <kind>"; `not_an_archive` when it is not a LibTorch archive;
// "damaged <kind> (...)" / "damaged <kind>: ..." when its lengths or contents
// do not hold. Every tensor in the value is a plain (strided, not quantized)
// CPU tensor lying inside its record, so its bytes can be read; its dtype is
// the caller's to check. `kind` names the file in the user's terms ("model
// file", "pretrained weights file").
c10::IValue read_archive_value(const std::string& path, const std::string& kind,
                               const std::string& not_an_archive);

// The attribute `key` of a module as read_archive_value returns it (the dict
// of its attributes); None when absent or when `module` is not such a dict.
// A module held in a module (OutputArchive's nested archives) comes back as
// its dict too.
c10::IValue archive_attribute(const c10::IValue& module, const std::string& key);

// Bytes from the start of `t`'s storage to the end of its last element
// (UINT64_MAX for a negative size, stride or offset, or a span past 2^64): a
// tensor read from an archive lies in its record exactly when this is at most
// t.storage().nbytes(), every storage read_archive_value makes being its record.
uint64_t bytes_spanned(const at::Tensor& t);

// The container type a pickle's type tag names ("Dict[str, Tensor]"), from
// the types PneumoScan's and torch.save's files hold: Tensor, str, int,
// float, bool, NoneType, Any, and Dict/List/Optional/Tuple of them (nested at
// most 8 deep). Throws c10::Error for anything else.
c10::TypePtr parse_archive_type(const std::string& text);

}  // namespace pneumoscan
