// Linked into every fuzz target: one thread for OpenCV (and, through
// OMP_NUM_THREADS in scripts/fuzz.sh, for LibTorch). libFuzzer runs one input
// at a time; thread pools only add start-up cost and, on a busy machine, spin.
#include <opencv2/core.hpp>

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  cv::setNumThreads(0);
  return 0;
}
