// The test runner's main: the same runtime settings as the program (tuned
// allocator, all cores for ATen), so timings in tests resemble real runs.
#include <gtest/gtest.h>

#include "core/runtime.h"

int main(int argc, char** argv) {
  pneumoscan::configure_runtime(0);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
