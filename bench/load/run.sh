#!/usr/bin/env bash
# Load test of `pneumoscan serve` with wrk: 1, 8 and 32 connections for N
# seconds each, POSTing one X-ray; prints requests/s, p50/p99 latency, failed
# requests and the server's peak RSS. With -r R each level runs R times on the
# same server and the steadiness check follows (issue 13's goal): the runs'
# requests/s within 20% of each other (max/min <= 1.2), every p99 under 300 ms,
# no failed request; exit status 1 when it fails.
#   bench/load/run.sh [-d SECONDS] [-c "LEVELS"] [-r RUNS] [-f XRAY] [-b BUILD_DIR] [-- extra serve flags]
# Examples: bench/load/run.sh -d 30 -- --max-batch 32 --max-wait-ms 5
#           bench/load/run.sh -c 32 -r 5 -d 30        (steadiness: 5 runs of 30 s at 32 connections)
set -euo pipefail
cd "$(dirname "$0")/../.."

duration=10 levels="1 8 32" runs=1
xray=../shared/data/chest_xray/val/PNEUMONIA/person1951_bacteria_4882.jpeg
build=build
while [ $# -gt 0 ]; do
  case "$1" in
    -d) duration=$2; shift 2 ;;
    -c) levels=$2; shift 2 ;;
    -r) runs=$2; shift 2 ;;
    -f) xray=$2; shift 2 ;;
    -b) build=$2; shift 2 ;;
    --) shift; break ;;
    *) echo "usage: $0 [-d SECONDS] [-c \"LEVELS\"] [-r RUNS] [-f XRAY] [-b BUILD_DIR] [-- serve flags]" >&2; exit 2 ;;
  esac
done
command -v wrk >/dev/null || { echo "wrk not installed (scripts/setup.sh --deps)" >&2; exit 1; }
[ -f "$xray" ] || { echo "$xray: X-ray not found (-f FILE)" >&2; exit 1; }
[ -x "$build/pneumoscan" ] || { echo "$build/pneumoscan not built" >&2; exit 1; }

log=$(mktemp)
server=
trap 'kill $server 2>/dev/null || true; rm -f "$log"' EXIT
source bench/load/serve_process.sh
start_serve "$build" "$log" "$@"
echo "server: $url (pid $server), X-ray: $xray, $duration s per run, $runs run(s) per level"
[ "$runs" -gt 1 ] && wrk -t2 -c32 -d5s --timeout 10s -s bench/load/predict.lua "$url" -- "$xray" >/dev/null  # warm-up

printf "%-12s %4s %10s %10s %10s %8s\n" connections run "req/s" "p50 ms" "p99 ms" failed
steady=1
for connections in $levels; do
  threads=$(( connections < 2 ? 1 : 2 ))
  rps_all=()
  for ((run = 1; run <= runs; run++)); do
    line=$(wrk -t"$threads" -c"$connections" -d"${duration}s" --timeout 10s -s bench/load/predict.lua "$url" \
             -- "$xray" | grep '^RESULT')
    field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$line"; }
    failed=$(( $(field errors) + $(field non2xx) ))
    printf "%-12s %4s %10s %10s %10s %8s\n" "$connections" "$run" "$(field rps)" "$(field p50_ms)" \
      "$(field p99_ms)" "$failed"
    rps_all+=("$(field rps)")
    awk -v p="$(field p99_ms)" 'BEGIN { exit !(p < 300) }' || steady=0
    [ "$failed" = 0 ] || steady=0
  done
  if [ "$runs" -gt 1 ]; then
    spread=$(printf '%s\n' "${rps_all[@]}" | awk 'NR == 1 || $1 < lo { lo = $1 } NR == 1 || $1 > hi { hi = $1 }
      END { printf "%.3f", hi / lo }')
    awk -v s="$spread" 'BEGIN { exit !(s <= 1.2) }' || steady=0
    echo "$connections connections: req/s max/min $spread (goal <= 1.20), p99 goal < 300 ms, no failures"
  fi
done
peak_kb=$(awk '/VmHWM/ {print $2}' "/proc/$server/status")
echo "server peak RSS: $(( peak_kb / 1024 )) MiB"
kill -TERM $server
status=0
wait $server || status=$?
echo "server stopped on SIGTERM with exit code $status"
trap - EXIT
rm -f "$log"
if [ "$runs" -gt 1 ]; then
  [ "$steady" = 1 ] && echo "steadiness: PASSED" || { echo "steadiness: FAILED"; exit 1; }
fi
