#!/usr/bin/env bash
# Thread pinning against the default: `pneumoscan bench` (resnet18 @224, small-cnn @128: JPEG
# decode, training from JPEG and from tensors, batch-1 and batch-32 latency) with and without
# OpenMP's binding (OMP_PROC_BIND=close OMP_PLACES=cores), interleaved A B A B A B.
#   bench/thread_pinning.sh [OUT_DIR] [BUILD_DIR]      (outside the test command; ~5 minutes here)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-/tmp/thread_pinning}
build=${2:-build}
mkdir -p "$out"
run=(bench --runs resnet18:224 small-cnn:128 --steps 10 --latency-runs 50)
for i in 1 2 3; do
  "$build/pneumoscan" "${run[@]}" --json "$out/default$i.json" > "$out/default$i.txt"
  OMP_PROC_BIND=close OMP_PLACES=cores "$build/pneumoscan" "${run[@]}" --json "$out/pinned$i.json" > "$out/pinned$i.txt"
done
for f in default1 pinned1 default2 pinned2 default3 pinned3; do
  echo "== $f"
  grep -E "^(resnet18|small-cnn) " "$out/$f.txt"
done
