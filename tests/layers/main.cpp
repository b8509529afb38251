// The entry point of the per-layer link checks (CMakeLists.txt,
// pneumoscan_layer): the executable exists to be linked, not run.
int main() { return 0; }
