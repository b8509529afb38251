#!/usr/bin/env bash
# The allocator: glibc malloc as core/runtime.h tunes it (one arena, no trim, no mmap) against
# jemalloc and tcmalloc (minimal) preloaded, interleaved glibc jemalloc tcmalloc x 3. Each round:
# `pneumoscan bench` (resnet18 @224, small-cnn @128: JPEG decode, training from JPEG and from
# tensors, batch-1 and batch-32 latency), then `predict` on the 100 full-resolution pneumonia JPEGs
# as one process (wall time and peak RSS from /usr/bin/time), then `serve` under 32 clients for
# 10 s (bench/load/run.sh: req/s, p50/p99, the server's peak RSS).
#   bench/allocator.sh [OUT_DIR] [BUILD_DIR]   (outside the test command; ~13 minutes here)
# BUILD_DIR (default build) must hold a program on glibc malloc, the default (not built with
# -DPNEUMOSCAN_TCMALLOC=ON). Needs scripts/setup.sh --bench (the two allocators) and wrk.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-/tmp/allocator}
build=${2:-build}
lib=/usr/lib/x86_64-linux-gnu
declare -A preload=([glibc]="" [jemalloc]="$lib/libjemalloc.so.2" [tcmalloc]="$lib/libtcmalloc_minimal.so.4")
for name in jemalloc tcmalloc; do
  [ -f "${preload[$name]}" ] || { echo "${preload[$name]}: not installed (scripts/setup.sh --bench)" >&2; exit 1; }
done
"$build/pneumoscan" --version | grep -q "(malloc: glibc)" ||
  { echo "$build/pneumoscan is not on glibc malloc: configure it with -DPNEUMOSCAN_TCMALLOC=OFF" >&2; exit 1; }
mkdir -p "$out"
run=(bench --runs resnet18:224 small-cnn:128 --steps 10 --latency-runs 50)
files=(../shared/data/chest_xray_fullres/PNEUMONIA/*.jpeg)
for i in 1 2 3; do
  for name in glibc jemalloc tcmalloc; do
    env=(); [ -z "${preload[$name]}" ] || env=(LD_PRELOAD="${preload[$name]}")
    env "${env[@]}" "$build/pneumoscan" "${run[@]}" --json "$out/$name$i.json" > "$out/$name$i.txt"
    env "${env[@]}" /usr/bin/time -f "predict100 %e s, peak RSS %M KiB" \
      "$build/pneumoscan" predict --no-tta --json "${files[@]}" > /dev/null 2> "$out/$name$i.predict.txt" ||
      [ $? = 3 ] || { cat "$out/$name$i.predict.txt" >&2; exit 1; }  # 3: the gate refused one of the 100
    env "${env[@]}" bench/load/run.sh -c 32 -d 10 -b "$build" > "$out/$name$i.serve.txt" 2>&1
  done
done
for i in 1 2 3; do
  for name in glibc jemalloc tcmalloc; do
    echo "== $name $i"
    grep -E "^threads|^(resnet18|small-cnn) " "$out/$name$i.txt"
    tail -1 "$out/$name$i.predict.txt"
    grep -E "^32 |peak RSS" "$out/$name$i.serve.txt"
  done
done
