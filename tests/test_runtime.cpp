// core/runtime: the process's allocator, and the program linked against the
// one the build chose.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "core/runtime.h"
#include "test_support.h"

using namespace pneumoscan;

// The test program is not linked against tcmalloc: glibc's malloc, unless a
// user preloaded another.
TEST(Runtime, TheTestProcessRunsOnGlibcMalloc) {
  if (const char* preload = std::getenv("LD_PRELOAD"); preload != nullptr && *preload != '\0')
    GTEST_SKIP() << "LD_PRELOAD is set (" << preload << ")";
  EXPECT_EQ(allocator_name(), "glibc");
}

// The pneumoscan program runs on the allocator CMake linked (tcmalloc where
// libtcmalloc-minimal4 is installed, glibc otherwise) and says which.
TEST(Runtime, TheProgramRunsOnTheAllocatorItWasBuiltWith) {
  const test::CommandResult version = test::run_cli("--version");
  ASSERT_EQ(version.exit_code, 0) << version.output;
  EXPECT_NE(version.output.find(std::string("(malloc: ") + PNEUMOSCAN_PROGRAM_ALLOCATOR + ")"),
            std::string::npos)
      << version.output;
  if (std::getenv("CI") != nullptr && std::string(std::getenv("CI")) == "true")
    EXPECT_STREQ(PNEUMOSCAN_PROGRAM_ALLOCATOR, "tcmalloc")
        << "scripts/setup.sh installs libtcmalloc-minimal4";
}
