#!/usr/bin/env bash
# Soak test of `pneumoscan serve` with its DICOM node: mixed load for N
# minutes (default 30): good X-rays from 3 clients, health checks, damaged
# uploads, oversized and chunked-oversized bodies, slow and idle clients, and
# C-STOREs of DICOM files (bench/load/soak.py says what each does). Prints
# requests and outcomes by kind, p50/p99 latency and the server's RSS over
# time; fails on any failed good or health request, or RSS growth of 5 % or
# more after warm-up.
#   bench/load/soak.sh [-m MINUTES] [-b BUILD_DIR] [-- extra serve flags]
set -euo pipefail
cd "$(dirname "$0")/../.."

minutes=30
build=build
while [ $# -gt 0 ]; do
  case "$1" in
    -m) minutes=$2; shift 2 ;;
    -b) build=$2; shift 2 ;;
    --) shift; break ;;
    *) echo "usage: $0 [-m MINUTES] [-b BUILD_DIR] [-- serve flags]" >&2; exit 2 ;;
  esac
done
shared="${PNEUMOSCAN_SHARED:-$(cd .. && pwd)/shared}"
xrays="$shared/data/chest_xray/val"
dicoms="$shared/data/dicom/rsna"
[ -d "$xrays" ] || { echo "$xrays: X-rays not found (PNEUMOSCAN_SHARED)" >&2; exit 1; }
[ -x "$build/pneumoscan" ] || { echo "$build/pneumoscan not built" >&2; exit 1; }
command -v storescu >/dev/null || { echo "storescu not installed (scripts/setup.sh --deps)" >&2; exit 1; }

work=$(mktemp -d)
dicom_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
server=
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
source bench/load/serve_process.sh
start_serve "$build" "$work/log" --dicom-port "$dicom_port" --dicom-out "$work/dicom" "$@"
echo "server: $url, DICOM port $dicom_port (pid $server), $minutes min of mixed load"
status=0
python3 bench/load/soak.py --url "$url" --pid "$server" --seconds "$((minutes * 60))" --xrays "$xrays" \
  --dicom-port "$dicom_port" --dicoms "$dicoms" || status=$?
kill -TERM $server
wait $server || true
exit $status
