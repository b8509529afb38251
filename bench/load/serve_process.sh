# Sourced by the load scripts: start_serve BUILD_DIR LOG [serve flags...]
# starts `pneumoscan serve --port 0` in the background, waits until it listens
# and sets $server (its pid) and $url; exits 1 with the server's log if it
# does not start.
start_serve() {
  local build=$1 log=$2
  shift 2
  "$build/pneumoscan" serve --port 0 "$@" >"$log" 2>&1 &
  server=$!
  for _ in $(seq 600); do
    grep -q "listening on" "$log" && break
    kill -0 $server 2>/dev/null || { cat "$log" >&2; exit 1; }
    sleep 0.1
  done
  url=$(grep -o "http://[^ ]*" "$log" | head -1)
  [ -n "$url" ] || { echo "server did not start:" >&2; cat "$log" >&2; exit 1; }
}
