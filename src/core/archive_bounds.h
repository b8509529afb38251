#pragma once
// A guard run before LibTorch reads an archive (model files, checkpoints, code
// files, torch.save state dicts): LibTorch trusts the lengths a file declares.
// Its unpickler reserves whatever length a string claims (a mutated 2 MB model
// file declaring a 4 GB string took 8.5 GB before failing) and whatever memo
// slot a LONG_BINPUT names; its zip reader allocates a record's declared
// uncompressed size. These checks read only the zip's directories and the
// pickle records (a few KB for a model file), never the weights.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace pneumoscan {

// Throws ModelFileError(path, "damaged <kind> (...)") unless: the file is a
// zip archive whose every record lies inside the file before the central
// directory, stored, or packed with deflate (LibTorch packs its code files)
// claiming at most 64 MB and what deflate can reach from its packed size, and
// every pickle record ("*.pkl", "*_pkl"; unpacked with zlib when packed, to
// exactly its declared size) is a walk of standard pickle opcodes to a
// STOP (core/pickle_bounds.h) in which no declared length runs past the record's end, no memo slot
// is named before the ones below it are filled, and no opcode takes more
// values than the stack holds above its top mark (LibTorch pops unchecked). `kind` names the file in the
// user's terms ("model file", "checkpoint"). A missing or unreadable file, or
// one with no zip directory at all, is left for the reader to refuse in its
// own terms (it allocates nothing for those).
void check_archive_bounds(const std::string& path, const std::string& kind = "model file");

// One record of a zip archive: its name as stored ("archive/data/0") and the
// bytes the reader allocates for it (unpacked).
struct ArchiveRecord {
  std::string name;
  uint64_t size = 0;
};

// The same checks, returning the archive's records (read from its directory:
// no record's bytes but the pickles'); empty for a missing file or one that
// is not a zip archive.
std::vector<ArchiveRecord> archive_records(const std::string& path, const std::string& kind = "model file");

// The storage key of a tensor record, "<archive>/data/<digits>" -> "<digits>"
// (where LibTorch reads tensor storages); "" for every other record.
std::string tensor_record_key(const std::string& record_name);

}  // namespace pneumoscan
