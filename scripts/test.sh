#!/usr/bin/env bash
# The test command: makes sure the dependencies are installed (idempotent),
# builds into build/ and runs the whole GoogleTest suite through ctest.
# Tests that need ../shared skip without it, except under CI=true.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --deps
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j"$(nproc)"
cd build
ctest -j"$(nproc)" --output-on-failure --timeout 1200
