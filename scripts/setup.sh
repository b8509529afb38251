#!/usr/bin/env bash
# Installs PneumoScan's Debian 12 dependencies (idempotent, non-interactive),
# then configures and builds the project into build/ (Release).
#   scripts/setup.sh            install + build
#   scripts/setup.sh --deps     install only
#   scripts/setup.sh --fuzz     install only, plus clang (optional: scripts/fuzz.sh's libFuzzer)
#   scripts/setup.sh --bench    install only, plus Python PyTorch, jemalloc and tcmalloc (optional: bench/compare_pytorch.sh, bench/allocator.sh)
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake pkg-config
  libtorch-dev libgloo-dev libopenblas0-openmp
  libopencv-dev libjpeg-dev libpng-dev zlib1g-dev
  libdcmtk-dev dcmtk
  nlohmann-json3-dev libcli11-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libfaiss-dev libplplot-dev plplot-driver-cairo libcpp-httplib-dev libsqlite3-dev
  ccache python3-pydicom python3-protobuf jq
  chromium wrk
)

[ "${1:-}" = "--fuzz" ] && packages+=(clang)
# Debian's PyTorch 1.13 (the same LibTorch underneath) for bench/pytorch_reference.py; jemalloc and
# tcmalloc for bench/allocator.sh (and cmake -DPNEUMOSCAN_TCMALLOC=ON).
[ "${1:-}" = "--bench" ] && packages+=(python3-torch python3-torchvision python3-pil python3-numpy
                                       libjemalloc2 libtcmalloc-minimal4)

# The browser test needs node + npm; Debian's come in only where none is installed
# (a NodeSource node bundles its own npm, which Debian's npm package would conflict with).
command -v node >/dev/null || packages+=(nodejs)
command -v npm >/dev/null || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  echo "setup: installing ${missing[*]}"
  $sudo_cmd apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# The web page's browser test (tests/web): playwright-core driving Debian's chromium.
if command -v npm >/dev/null && command -v node >/dev/null; then
  [ -f tests/web/node_modules/playwright-core/package.json ] ||
    (cd tests/web && npm ci --no-audit --no-fund --loglevel=error)
else
  echo "setup: node/npm not found; the web UI test (WebUiTest) will be skipped"
fi

[ "${1:-}" = "--deps" ] || [ "${1:-}" = "--fuzz" ] || [ "${1:-}" = "--bench" ] && exit 0

cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j"$(nproc)"
echo "setup: built build/pneumoscan"
