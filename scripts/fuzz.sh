#!/usr/bin/env bash
# Fuzzes every parser a stranger can reach with libFuzzer (fuzz/*.cpp).
#   scripts/fuzz.sh [--seconds N] [TARGET[:SECONDS]...]
# TARGET: image dicom manifest http model_file model_metadata state_dict checkpoint case_index
# dicom_node worklist tensorboard (default: all), each run N seconds (default 60) or its own
# SECONDS (`image:1200 dicom:1800`, one after the other). Builds with
# clang (-fsanitize=fuzzer,address,undefined) into build-fuzz/; all but
# manifest and http also build the normal library into build/ (for
# build-fuzz/fuzz_seeds). Seed corpora are made at run time from ../shared
# (PNEUMOSCAN_SHARED), pydicom's test files and build-fuzz/fuzz_seeds: the
# X-rays enter shrunk (a 64-96 px image in every format and DICOM transfer
# syntax), since a full-size one takes 30-900 ms under ASan and throughput is
# what finds bugs. The corpus grows in build-fuzz/corpus/TARGET across runs.
# Findings (crash-*, oom-*, timeout-*; slow-unit-* are inputs over 10 s,
# counted apart) land in build-fuzz/findings/TARGET/; one summary line per
# target (executions, executions/s, coverage) is printed and appended to
# build-fuzz/summary.txt. Exit 1 when any target found something.
# Needs clang: `scripts/setup.sh --fuzz` installs it.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=60
declare -A target_seconds=()
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) targets+=("${1%%:*}"); [[ $1 == *:* ]] && target_seconds["${1%%:*}"]="${1#*:}"; shift ;;
  esac
done
all=(image dicom manifest http model_file model_metadata state_dict checkpoint case_index dicom_node worklist tensorboard)
library_targets=" model_file model_metadata state_dict checkpoint case_index dicom_node worklist tensorboard "
seeded_targets=" image dicom$library_targets"  # need build-fuzz/fuzz_seeds
[ ${#targets[@]} -eq 0 ] && targets=("${all[@]}")
for t in "${targets[@]}"; do
  [[ " ${all[*]} " == *" $t "* ]] || { echo "fuzz: unknown target '$t' (${all[*]})" >&2; exit 2; }
done
command -v clang++ >/dev/null || { echo "fuzz: clang++ not found; run scripts/setup.sh --fuzz" >&2; exit 2; }
shared="${PNEUMOSCAN_SHARED:-$(cd .. && pwd)/shared}"
pydicom=/usr/lib/python3/dist-packages/pydicom/data/test_files

# --- build ---------------------------------------------------------------------
needs_core=0
for t in "${targets[@]}"; do [[ $seeded_targets == *" $t "* ]] && needs_core=1; done
core=()
build_targets=()
for t in "${targets[@]}"; do build_targets+=("fuzz_$t"); done
if [ $needs_core = 1 ]; then
  cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build build --target pneumoscan_serve -j"$(nproc)"
  core=(-DPNEUMOSCAN_LIBRARY_DIR="$PWD/build")
  build_targets+=(fuzz_seeds)
fi
CXX=clang++ cmake -S fuzz -B build-fuzz "${core[@]}" >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target "${build_targets[@]}"

# --- seed corpora (rebuilt each run; the grown corpus is kept separately) -------
seeds=build-fuzz/seeds
rm -rf "$seeds"
mkdir -p "$seeds"/{image,dicom,manifest,http,model_file,model_metadata,state_dict,checkpoint,case_index,dicom_node,worklist,tensorboard}
smallest() {  # smallest N files of a find expression
  local n=$1; shift
  find "$@" -type f -printf '%s %p\n' 2>/dev/null | sort -n | head -n "$n" | cut -d' ' -f2-
}
copy_seeds() {  # copy_seeds TARGET FILE...
  local target=$1; shift
  for f in "$@"; do cp "$f" "$seeds/$target/$(basename "$f")"; done
}
dicoms=()
jpegs=()
if [ -d "$shared/data" ]; then
  mapfile -t jpegs < <(smallest 12 "$shared/data/chest_xray" -name '*.jpeg')
  mapfile -t csvs < <(find "$shared/data" -name '*.csv' -size -64k)
  copy_seeds manifest "${csvs[@]}"
  # A manifest in pneumoscan's own layout, from real file names.
  { echo "path,label,patient,split"
    for f in "${jpegs[@]:0:6}"; do
      echo "\"$f\",$(basename "$(dirname "$f")"),$(basename "$f" .jpeg),test"
    done; } > "$seeds/manifest/manifest.csv"
  # Upload requests: raw, chunked and multipart bodies carrying a real X-ray.
  body="${jpegs[0]}"
  size=$(stat -c %s "$body")
  { printf 'POST /api/v1/predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n' "$size"
    cat "$body"; } > "$seeds/http/raw"
  { printf 'POST /api/v1/predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n' "$size"
    cat "$body"; printf '\r\n0\r\n\r\n'; } > "$seeds/http/chunked"
  part=$(mktemp)
  { printf -- '--XyZ\r\nContent-Disposition: form-data; name="file"; filename="x.jpeg"\r\nContent-Type: image/jpeg\r\n\r\n'
    cat "$body"; printf -- '\r\n--XyZ\r\nContent-Disposition: form-data; name="note"\r\n\r\nhi\r\n--XyZ--\r\n'; } > "$part"
  { printf 'POST /api/v1/predict?explain=gradcam HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=XyZ\r\nContent-Length: %d\r\n\r\n' "$(stat -c %s "$part")"
    cat "$part"; } > "$seeds/http/multipart"
  rm -f "$part"
else
  echo "fuzz: $shared/data not found; seeds from pydicom and built-in requests only" >&2
fi
[ -d "$pydicom" ] && copy_seeds dicom $(smallest 25 "$pydicom" -name '*.dcm')
printf 'GET /api/v1/health HTTP/1.1\r\nHost: x\r\n\r\nGET /metrics HTTP/1.1\r\n\r\n' > "$seeds/http/get"
[ -d "$pydicom" ] && mapfile -t dicoms < <(smallest 25 "$pydicom" -name '*.dcm')
[ $needs_core = 1 ] && build-fuzz/fuzz_seeds "$seeds" "${dicoms[@]}" "${jpegs[@]}" >/dev/null

# --- run -----------------------------------------------------------------------
found=0
mkdir -p build-fuzz/logs
for t in "${targets[@]}"; do
  run_seconds="${target_seconds[$t]:-$seconds}"
  mkdir -p "build-fuzz/corpus/$t" "build-fuzz/findings/$t"
  max_len=65536
  [[ $t == dicom || $t == dicom_node || $t == http || $t == worklist ]] && max_len=262144
  # The smallest valid model file (fuzz_seeds' tiny.psmodel) is 2.2 MB: under a shorter limit
  # libFuzzer cuts the seed and every input dies in the zip reader (sessions 14-15: 131 edges).
  [[ $t == model_file ]] && max_len=4194304
  # LibTorch, OpenCV and DCMTK keep one-time allocations to the end: no leak reports.
  # One allocation over 300 MB fails (std::bad_alloc, or null for DCMTK's
  # nothrow new), as on a memory-capped machine: the library must turn that into
  # an error naming the input. Without the cap, DICOM element lengths made up by
  # the mutator (DCMTK allocates what the header claims) cost ASan a second
  # each in shadow memory and held the image target to 12 executions/s (851 with it).
  log="build-fuzz/logs/$t.log"
  started=$(date +%s)
  set +e
  OMP_NUM_THREADS=1 ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1:max_allocation_size_mb=300 UBSAN_OPTIONS=print_stacktrace=1 \
    "build-fuzz/fuzz_$t" -max_total_time="$run_seconds" -print_final_stats=1 -timeout=20 -rss_limit_mb=4096 \
    -max_len=$max_len -artifact_prefix="build-fuzz/findings/$t/" "build-fuzz/corpus/$t" "$seeds/$t" >"$log" 2>&1
  status=$?
  set -e
  elapsed=$(( $(date +%s) - started ))  # shorter than asked when a finding stops the run
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
  rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
  cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -1)
  corpus=$(find "build-fuzz/corpus/$t" -type f | wc -l)
  # slow-unit-* files are inputs over 10 s (a note, not a failure); the rest are findings.
  findings=$(find "build-fuzz/findings/$t" -type f ! -name 'slow-unit-*' | wc -l)
  slow=$(find "build-fuzz/findings/$t" -type f -name 'slow-unit-*' | wc -l)
  million="n/a"
  [ "${rate:-0}" -gt 0 ] && million="$(awk -v r="$rate" 'BEGIN { s = 1e6 / r; printf(s < 3600 ? "%.0f min" : "%.1f h", s < 3600 ? s / 60 : s / 3600) }')"
  line="$(date -u +%FT%TZ) $t: ${runs:-0} executions in ${elapsed} s of ${run_seconds} (${rate:-0}/s), ${cov:-no coverage line} edges/features, corpus $corpus, findings $findings, slow inputs $slow, exit $status; 1M executions at this rate: $million (projection)"
  echo "$line" | tee -a build-fuzz/summary.txt
  if [ "$status" -ne 0 ] || [ "$findings" -gt 0 ]; then
    found=1
    grep -m3 -E 'ERROR|runtime error|deadly signal|out-of-memory|timeout' "$log" | sed 's/^/  /' || true
  fi
done
exit $found
