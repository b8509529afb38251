// core/archive_bounds: the length checks run before LibTorch reads an archive.
#include <gtest/gtest.h>
#include <torch/csrc/jit/serialization/pickle.h>
#include <torch/torch.h>
#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "archive_support.h"
#include "core/archive_bounds.h"
#include "core/errors.h"
#include "test_support.h"

using namespace pneumoscan;

namespace {

using test::find;
using test::put_u32;
using test::raw_pickle;

// The checks read files (every caller holds one): the bytes go to
// "<temp>/weights.pt", and the message comes back from "weights.pt: ".
std::string archive_error(const std::vector<char>& bytes) {
  test::TempDir dir;
  const std::string folder = dir.path.string() + "/";
  std::ofstream(folder + "weights.pt", std::ios::binary)
      .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  try {
    check_archive_bounds(folder + "weights.pt");
  } catch (const ModelFileError& e) {
    const std::string message = e.what();
    return message.rfind(folder, 0) == 0 ? message.substr(folder.size()) : message;
  }
  return "";
}

void put_u16(std::string& out, uint32_t value) {
  out += static_cast<char>(value & 0xff);
  out += static_cast<char>((value >> 8) & 0xff);
}

void put_u32(std::string& out, uint32_t value) {
  put_u16(out, value & 0xffff);
  put_u16(out, value >> 16);
}

// A one-record zip archive whose record `name` holds `content` packed with
// deflate (as LibTorch packs its code files), built here byte by byte.
std::vector<char> packed_archive(const std::string& name, const std::vector<char>& content) {
  std::string packed(compressBound(content.size()) + 64, '\0');
  z_stream stream{};
  EXPECT_EQ(deflateInit2(&stream, 6, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(content.data()));
  stream.avail_in = static_cast<uInt>(content.size());
  stream.next_out = reinterpret_cast<Bytef*>(packed.data());
  stream.avail_out = static_cast<uInt>(packed.size());
  EXPECT_EQ(deflate(&stream, Z_FINISH), Z_STREAM_END);
  packed.resize(stream.total_out);
  deflateEnd(&stream);
  const uint32_t crc =
      crc32(0, reinterpret_cast<const Bytef*>(content.data()), static_cast<uInt>(content.size()));
  std::string zip;
  auto sizes = [&](std::string& out) {
    put_u32(out, crc);
    put_u32(out, static_cast<uint32_t>(packed.size()));
    put_u32(out, static_cast<uint32_t>(content.size()));
  };
  zip += "PK\x03\x04";  // local header: version, flags, method 8, time, date
  put_u16(zip, 20), put_u16(zip, 0), put_u16(zip, 8), put_u16(zip, 0), put_u16(zip, 0);
  sizes(zip);
  put_u16(zip, static_cast<uint32_t>(name.size())), put_u16(zip, 0);
  zip += name + packed;
  const uint32_t directory = static_cast<uint32_t>(zip.size());
  zip += "PK\x01\x02";  // central header: made by, needed, flags, method 8, time, date
  put_u16(zip, 20), put_u16(zip, 20), put_u16(zip, 0), put_u16(zip, 8), put_u16(zip, 0), put_u16(zip, 0);
  sizes(zip);
  put_u16(zip, static_cast<uint32_t>(name.size()));
  for (int i = 0; i < 4; ++i) put_u16(zip, 0);  // extra, comment, disk, internal attributes
  put_u32(zip, 0), put_u32(zip, 0);             // external attributes, local header at 0
  zip += name;
  const uint32_t directory_size = static_cast<uint32_t>(zip.size()) - directory;
  zip += "PK\x05\x06";
  put_u16(zip, 0), put_u16(zip, 0), put_u16(zip, 1), put_u16(zip, 1);
  put_u32(zip, directory_size), put_u32(zip, directory), put_u16(zip, 0);
  return std::vector<char>(zip.begin(), zip.end());
}

// An archive as torch.save writes one: a dict holding a string and a tensor.
std::vector<char> saved_dict() {
  c10::impl::GenericDict dict(c10::StringType::get(), c10::AnyType::get());
  dict.insert("pneumoscan_metadata", c10::IValue(std::string(40, 'm')));
  dict.insert("weight", c10::IValue(torch::ones({4, 4})));
  return torch::pickle_save(c10::IValue(dict));
}

}  // namespace

TEST(ArchiveBounds, ArchivesLibTorchWritesPass) {
  const std::vector<char> archive = saved_dict();
  EXPECT_EQ(archive_error(archive), "");
  const std::string committed = std::string(PNEUMOSCAN_SOURCE_DIR) + "/models/default.psmodel";
  EXPECT_NO_THROW(check_archive_bounds(committed));
  const std::string resnet = test::shared_path("pretrained/resnet50_imagenet.pt");
  if (resnet.empty()) {
    if (test::running_under_ci())
      FAIL() << "pretrained/resnet50_imagenet.pt is missing from the shared folder";
    GTEST_SKIP() << "pretrained/resnet50_imagenet.pt is missing (real data lives in ../shared)";
  }
  EXPECT_NO_THROW(check_archive_bounds(resnet, "pretrained weights file"));  // written by Python's torch.save
}

TEST(ArchiveBounds, APickleStringClaimingFourGigabytesIsRefused) {
  std::vector<char> archive = saved_dict();
  const size_t at = find(archive, "pneumoscan_metadata");
  ASSERT_EQ(archive[at - 5], 'X');
  put_u32(&archive[at - 4], 0xffffffffu);
  const std::string message = archive_error(archive);
  EXPECT_EQ(message.rfind("weights.pt: damaged model file (record '", 0), 0u) << message;
  EXPECT_NE(message.find("data.pkl': a value claims 4294967295 bytes"), std::string::npos) << message;
}

TEST(ArchiveBounds, CompressedOrOversizedRecordsAreRefused) {
  const std::vector<char> archive = saved_dict();
  // The central directory entry of the first record: method at +10, sizes at +20 and +24.
  const size_t entry = find(archive, std::string("PK\x01\x02", 4));
  std::vector<char> unknown_method = archive;
  unknown_method[entry + 10] = 9;
  EXPECT_NE(archive_error(unknown_method).find("method 9"), std::string::npos)
      << archive_error(unknown_method);
  std::vector<char> packed = archive;
  packed[entry + 10] = 8;  // deflate: the reader allocates the unpacked size it declares
  put_u32(&packed[entry + 24], 0x7fffffffu);
  EXPECT_NE(archive_error(packed).find("claims 2147483647 bytes unpacked from"), std::string::npos)
      << archive_error(packed);
  std::vector<char> oversized = archive;
  put_u32(&oversized[entry + 20], 0x7fffffffu);
  put_u32(&oversized[entry + 24], 0x7fffffffu);
  EXPECT_NE(archive_error(oversized).find("claims 2147483647 bytes, more than the file holds"),
            std::string::npos)
      << archive_error(oversized);
  std::vector<char> cut = archive;
  cut.resize(cut.size() - 10);  // the end record cut: no directory to trust
  EXPECT_EQ(archive_error(cut), "");
  const std::vector<char> text = {'h', 'e', 'l', 'l', 'o'};
  EXPECT_EQ(archive_error(text), "") << "not an archive: left for the reader to refuse";
}

TEST(ArchiveBounds, PackedPickleRecordsAreUnpackedAndWalked) {
  const std::vector<char> sound = raw_pickle(c10::IValue(std::string(3000, 'a')));
  EXPECT_EQ(archive_error(packed_archive("a/code/x.py.debug_pkl", sound)), "");
  std::vector<char> bad = sound;
  put_u32(&bad[find(bad, "aaaa") - 4], 0xffffffffu);
  EXPECT_NE(archive_error(packed_archive("a/code/x.py.debug_pkl", bad)).find("claims 4294967295 bytes"),
            std::string::npos);
  // A packed record whose declared size is not what it unpacks to.
  std::vector<char> lying = packed_archive("a/data.pkl", sound);
  const size_t central = find(lying, std::string("PK\x01\x02", 4));
  put_u32(&lying[central + 24], 3100);
  EXPECT_NE(archive_error(lying).find("does not unpack to the 3100 bytes it claims"), std::string::npos)
      << archive_error(lying);
}

// fuzz/fuzz_state_dict: an end record saying "no records", with a zip64
// locator before it. LibTorch's zip reader takes the 64-bit directory whenever
// a locator is there; the check once took the 32-bit one and passed the file.
TEST(ArchiveBounds, TheZip64DirectoryIsCheckedWheneverItsLocatorIsThere) {
  std::vector<char> archive = saved_dict();
  const size_t at = find(archive, "pneumoscan_metadata");
  put_u32(&archive[at - 4], 0xffffffffu);  // the string LibTorch would reserve
  const size_t end = find(archive, std::string("PK\x05\x06", 4));
  auto u32 = [&](size_t offset) {
    uint32_t v = 0;
    for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(archive[offset + i]);
    return v;
  };
  const uint32_t entries = u32(end + 8) & 0xffff, directory_size = u32(end + 12), directory = u32(end + 16);
  std::string tail;
  put_u32(tail, 0x06064b50);  // zip64 end record: its size (44), versions, disks
  put_u32(tail, 44), put_u32(tail, 0), put_u32(tail, 45 | (45 << 16)), put_u32(tail, 0), put_u32(tail, 0);
  for (uint32_t value : {entries, 0u, entries, 0u, directory_size, 0u, directory, 0u}) put_u32(tail, value);
  put_u32(tail, 0x07064b50);  // locator: disk, the zip64 end record's offset, disks
  put_u32(tail, 0), put_u32(tail, static_cast<uint32_t>(end)), put_u32(tail, 0), put_u32(tail, 1);
  tail += "PK\x05\x06";  // the 32-bit end record: no records
  for (int i = 0; i < 4; ++i) put_u16(tail, 0);
  put_u32(tail, 0), put_u32(tail, 0), put_u16(tail, 0);
  archive.resize(end);
  archive.insert(archive.end(), tail.begin(), tail.end());
  EXPECT_NE(archive_error(archive).find("claims 4294967295 bytes"), std::string::npos)
      << archive_error(archive);
}

TEST(ArchiveBounds, MissingFilesAreLeftToTheReader) {
  EXPECT_NO_THROW(check_archive_bounds("/nonexistent/model.psmodel"));
}
