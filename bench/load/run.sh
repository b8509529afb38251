#!/usr/bin/env bash
# Load test of `pneumoscan serve` with wrk: 1, 8 and 32 connections for N
# seconds each, POSTing one X-ray; prints requests/s, p50/p99 latency, errors
# and the server's peak RSS.
#   bench/load/run.sh [-d SECONDS] [-f XRAY] [-b BUILD_DIR] [-- extra serve flags]
# Example: bench/load/run.sh -d 30 -- --max-batch 32 --max-wait-ms 5
set -euo pipefail
cd "$(dirname "$0")/../.."

duration=10
xray=../shared/data/chest_xray/val/PNEUMONIA/person1951_bacteria_4882.jpeg
build=build
while [ $# -gt 0 ]; do
  case "$1" in
    -d) duration=$2; shift 2 ;;
    -f) xray=$2; shift 2 ;;
    -b) build=$2; shift 2 ;;
    --) shift; break ;;
    *) echo "usage: $0 [-d SECONDS] [-f XRAY] [-b BUILD_DIR] [-- serve flags]" >&2; exit 2 ;;
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
echo "server: $url (pid $server), X-ray: $xray, $duration s per level"

printf "%-12s %10s %10s %10s %8s\n" connections "req/s" "p50 ms" "p99 ms" errors
for connections in 1 8 32; do
  threads=$(( connections < 2 ? 1 : 2 ))
  line=$(wrk -t"$threads" -c"$connections" -d"${duration}s" --timeout 10s -s bench/load/predict.lua "$url" \
           -- "$xray" | grep '^RESULT')
  field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$line"; }
  printf "%-12s %10s %10s %10s %8s\n" "$connections" "$(field rps)" "$(field p50_ms)" "$(field p99_ms)" \
    "$(field errors)"
done
peak_kb=$(awk '/VmHWM/ {print $2}' "/proc/$server/status")
echo "server peak RSS: $(( peak_kb / 1024 )) MiB"
kill -TERM $server
status=0
wait $server || status=$?
echo "server stopped on SIGTERM with exit code $status"
trap - EXIT
rm -f "$log"
