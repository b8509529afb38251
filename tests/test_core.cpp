// Tests of src/core: atomic writes, hashing, parallel loops, timing, text and JSON text helpers.
#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <regex>
#include <stdexcept>
#include <vector>

#include "core/atomic_file.h"
#include "core/errors.h"
#include "core/hash.h"
#include "core/json_text.h"
#include "core/parallel.h"
#include "core/text.h"
#include "core/timing.h"
#include "file_size_limit.h"
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

// A full file system (here: the file size limit, EFBIG, as ENOSPC would be):
// a clear error naming the file, the previous content intact, no temporary left.
TEST(AtomicFile, FullFileSystemKeepsThePreviousFile) {
  test::TempDir dir;
  const std::string path = dir / "report.html";
  write_file_atomically(path, "previous");
  try {
    const test::FileSizeLimit limit(4096);
    write_file_atomically(path, std::string(64 * 1024, 'x'));
    FAIL() << "a write past the limit succeeded";
  } catch (const IoError& e) {
    EXPECT_EQ(std::string(e.what()),
              path + ": write failed: the file would exceed this process's file size limit (ulimit -f)");
  }
  EXPECT_EQ(read_file(path), "previous");
  EXPECT_EQ(test::file_names(dir.path), std::vector<std::string>{"report.html"});
}

TEST(AtomicFile, ReadMissingFileNamesIt) {
  try {
    read_file("/nonexistent/x.png");
    FAIL();
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/x.png"), std::string::npos);
  }
}

TEST(AtomicFile, ReadStopsAtItsLimitNamingTheFile) {
  test::TempDir dir;
  const std::string path = dir / "rows.csv";
  write_file_atomically(path, "0123456789");
  EXPECT_EQ(read_file(path, 10), "0123456789");
  try {
    read_file(path, 9);
    FAIL() << "read past the limit";
  } catch (const IoError& e) {
    EXPECT_EQ(std::string(e.what()),
              path + ": is larger than 9 bytes, far more than a file of this kind holds; is it the right file?");
  }
  // A device that never ends is refused at the limit, not read until memory runs out.
  EXPECT_THROW(read_file("/dev/zero", uint64_t{1} << 20), IoError);
}

TEST(Hash, Fnv1aKnownValues) {
  EXPECT_EQ(fnv1a64("", 0), 14695981039346656037ull);
  EXPECT_EQ(fnv1a64("a", 1), 0xaf63dc4c8601ec8cull);
  EXPECT_EQ(hex64(0xabcull), "0000000000000abc");
}

TEST(Parallel, EveryItemOnceWithSerialisedProgress) {
  const size_t count = 1000;
  std::vector<std::atomic<int>> seen(count);
  std::vector<size_t> reported;
  parallel_for(
      count, 4, [&](size_t i) { ++seen[i]; },
      [&](size_t done, size_t total) {
        EXPECT_EQ(total, count);
        reported.push_back(done);  // unguarded on purpose: calls must be serialised
      });
  for (size_t i = 0; i < count; ++i) EXPECT_EQ(seen[i].load(), 1) << i;
  ASSERT_EQ(reported.size(), count);
  std::sort(reported.begin(), reported.end());
  EXPECT_EQ(reported.front(), 1u);
  EXPECT_EQ(reported.back(), count);
  parallel_for(0, 0, [](size_t) { FAIL() << "no items, no calls"; });
}

TEST(Parallel, EscapingErrorIsRethrownAfterTheThreadsFinish) {
  std::atomic<int> calls{0};
  EXPECT_THROW(parallel_for(100, 3,
                            [&](size_t i) {
                              ++calls;
                              if (i == 10) throw std::runtime_error("item 10");
                            }),
               std::runtime_error);
  EXPECT_GE(calls.load(), 11);
  EXPECT_GE(resolve_threads(0), 1);
  EXPECT_EQ(resolve_threads(3), 3);
}

TEST(Timing, DurationsForPeopleAndUtcStamps) {
  EXPECT_EQ(format_duration(12.34), "12.3s");
  EXPECT_EQ(format_duration(83), "1m23s");
  EXPECT_EQ(format_duration(7500), "2h05m");
  EXPECT_TRUE(std::regex_match(utc_now(), std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)"))) << utc_now();
  EXPECT_TRUE(std::regex_match(utc_now(UtcFormat::kIsoMillis),
                               std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")));
  EXPECT_TRUE(
      std::regex_match(utc_now(UtcFormat::kReadable), std::regex(R"(\d{4}-\d\d-\d\d \d\d:\d\d UTC)")));
  const Stopwatch stopwatch;
  EXPECT_GE(stopwatch.seconds(), 0.0);
  EXPECT_LT(stopwatch.seconds(), 60.0);
}

TEST(Text, FormatStringAndCsvFields) {
  EXPECT_EQ(format_string("%.3f|%d|%s", 0.5, 7, "x"), "0.500|7|x");
  const std::string long_text(1000, 'a');
  EXPECT_EQ(format_string("<%s>", long_text.c_str()), "<" + long_text + ">");
  EXPECT_EQ(csv_field("plain"), "plain");
  EXPECT_EQ(csv_field("a,b"), "\"a,b\"");
  EXPECT_EQ(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(csv_field("two\nlines"), "\"two\nlines\"");
  EXPECT_EQ(join({"a", "b", "c"}, ", "), "a, b, c");
  EXPECT_EQ(join({}, ", "), "");
}

TEST(Text, QuotedExcerptIsShortAndOneLine) {
  EXPECT_EQ(quoted_excerpt("NORMAL"), "'NORMAL'");
  EXPECT_EQ(quoted_excerpt(std::string("a\0b\nc", 5)), "'a?b?c'");
  const std::string huge(10u << 20, 'Z');
  EXPECT_EQ(quoted_excerpt(huge, 4), "'ZZZZ... (10485760 bytes)'");
}

TEST(Text, JsonTextSurvivesInvalidUtf8AndJsonProblemDropsTheLibraryPrefix) {
  const nlohmann::json j = {{"file", std::string("caf\xe9.png")}};
  EXPECT_THROW((void)j.dump(), nlohmann::json::type_error);  // what once emptied a predict --json batch
  EXPECT_EQ(json_text(j), "{\"file\":\"caf\xef\xbf\xbd.png\"}");
  try {
    (void)nlohmann::json::object().at("name");
    FAIL() << "no exception";
  } catch (const nlohmann::json::exception& e) {
    EXPECT_EQ(json_problem(e), "key 'name' not found");
  }
}
