#!/usr/bin/env bash
# The test command: makes sure the dependencies are installed (idempotent),
# builds into build/ and runs the whole GoogleTest suite through ctest.
# Tests that need ../shared skip without it, except under CI=true.
#   scripts/test.sh              the suite (what CI runs)
#   scripts/test.sh --sanitize   the suite built with AddressSanitizer and
#                                UndefinedBehaviorSanitizer into build-sanitize/
#                                (slower: see README "Testing"); any report fails it
set -euo pipefail
cd "$(dirname "$0")/.."
build=build
flags=()
timeout=1200
case "${1:-}" in
  "") ;;
  --sanitize)
    build=build-sanitize
    flags=(-DPNEUMOSCAN_SANITIZE=ON)
    timeout=3600
    # LibTorch, OpenCV and DCMTK keep one-time allocations to process exit (no
    # leak reports); any other error report ends the test that made it.
    export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:${ASAN_OPTIONS:-}"
    export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"
    ;;
  *) echo "usage: scripts/test.sh [--sanitize]" >&2; exit 2 ;;
esac
bash scripts/setup.sh --deps
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release "${flags[@]}"
cmake --build "$build" -j"$(nproc)"
cd "$build"
ctest -j"$(nproc)" --output-on-failure --timeout "$timeout"
