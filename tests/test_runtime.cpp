// core/runtime: the process's allocator, and the program linked against the
// one the build chose.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "core/runtime.h"
#include "test_support.h"

using namespace pneumoscan;

// The test program is not linked against tcmalloc: glibc's malloc (the
// sanitizers' in their build), unless a user preloaded another.
TEST(Runtime, TheTestProcessRunsOnGlibcMalloc) {
  if (const char* preload = std::getenv("LD_PRELOAD"); preload != nullptr && *preload != '\0')
    GTEST_SKIP() << "LD_PRELOAD is set (" << preload << ")";
#if defined(__SANITIZE_ADDRESS__)
  EXPECT_EQ(allocator_name(), "asan");
#else
  EXPECT_EQ(allocator_name(), "glibc");
#endif
}

// The pneumoscan program runs on the allocator CMake linked (glibc, tcmalloc
// with -DPNEUMOSCAN_TCMALLOC=ON, the sanitizers' in their build) and says which.
TEST(Runtime, TheProgramRunsOnTheAllocatorItWasBuiltWith) {
  const test::CommandResult version = test::run_cli("--version");
  ASSERT_EQ(version.exit_code, 0) << version.output;
  EXPECT_NE(version.output.find(std::string("(malloc: ") + PNEUMOSCAN_PROGRAM_ALLOCATOR + ")"),
            std::string::npos)
      << version.output;
}
