// Tests of src/core: atomic writes and hashing.
#include <filesystem>
#include <fstream>

#include "core/atomic_file.h"
#include "core/errors.h"
#include "core/hash.h"
#include "test_support.h"

using namespace pneumoscan;

TEST(AtomicFile, WritesAndReplaces) {
  test::TempDir dir;
  const std::string path = dir / "report.json";
  write_file_atomically(path, "first");
  EXPECT_EQ(read_file(path), "first");
  write_file_atomically(path, "second");
  EXPECT_EQ(read_file(path), "second");
}

TEST(AtomicFile, FailedWriteKeepsOldContentAndLeavesNoTemporary) {
  test::TempDir dir;
  const std::string path = dir / "model.bin";
  write_file_atomically(path, "good");
  EXPECT_THROW(write_atomically(path,
                                [](const std::string& tmp) {
                                  std::ofstream(tmp) << "partial";
                                  throw IoError(tmp, "simulated failure");
                                }),
               IoError);
  EXPECT_EQ(read_file(path), "good");
  int files = 0;
  for ([[maybe_unused]] auto& entry : std::filesystem::directory_iterator(dir.path)) ++files;
  EXPECT_EQ(files, 1);
}

TEST(AtomicFile, ReadMissingFileNamesIt) {
  try {
    read_file("/nonexistent/x.png");
    FAIL();
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/x.png"), std::string::npos);
  }
}

TEST(Hash, Fnv1aKnownValues) {
  EXPECT_EQ(fnv1a64("", 0), 14695981039346656037ull);
  EXPECT_EQ(fnv1a64("a", 1), 0xaf63dc4c8601ec8cull);
  EXPECT_EQ(hex64(0xabcull), "0000000000000abc");
}
