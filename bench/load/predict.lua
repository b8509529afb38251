-- wrk script: POSTs one X-ray file to /api/v1/predict on every request.
--   wrk -s predict.lua http://127.0.0.1:8080 -- FILE [CONTENT_TYPE] [TOKEN]
-- Prints one machine-readable line at the end:
--   RESULT requests=N seconds=S rps=R p50_ms=.. p99_ms=.. errors=E non2xx=X

local function read_all(path)
  local file = assert(io.open(path, "rb"), "cannot open " .. tostring(path))
  local data = file:read("*a")
  file:close()
  return data
end

function init(args)
  local path = args[1] or error("usage: wrk -s predict.lua URL -- FILE [CONTENT_TYPE] [TOKEN]")
  wrk.method = "POST"
  wrk.path = "/api/v1/predict"
  wrk.body = read_all(path)
  wrk.headers["Content-Type"] = args[2] or "application/octet-stream"
  if args[3] and args[3] ~= "" then wrk.headers["Authorization"] = "Bearer " .. args[3] end
end

function done(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local e = summary.errors
  local socket_errors = e.connect + e.read + e.write + e.timeout
  io.write(string.format(
      "RESULT requests=%d seconds=%.2f rps=%.1f p50_ms=%.1f p99_ms=%.1f errors=%d non2xx=%d\n",
      summary.requests, seconds, summary.requests / seconds, latency:percentile(50) / 1000,
      latency:percentile(99) / 1000, socket_errors + e.status, e.status))
end
