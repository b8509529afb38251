// A stand-in for a base-layer file (core/, image/, data/) that calls into a
// layer above it: train/'s checkpoint_path. The Layers.* tests link it twice:
// with pneumoscan_base alone it must fail on that call, with pneumoscan_ml it
// must link. Declared here, as a stray include would declare it, so that the
// object compiles with the base layer's include path and flags.
#include <string>

namespace pneumoscan {
std::string checkpoint_path(const std::string& model_path);
}

int main(int argc, char** argv) {
  return pneumoscan::checkpoint_path(argc > 1 ? argv[1] : "m").empty() ? 1 : 0;
}
