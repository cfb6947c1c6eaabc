-- Shared by every benchmark script: one machine-readable line per run.
-- RESULT <requests per second> <p50 latency us> <mean latency us> <non-2xx or socket errors>
function done(summary, latency, requests)
  local errors = summary.errors
  local failed = errors.status + errors.connect + errors.read + errors.write + errors.timeout
  io.write(string.format("RESULT %.1f %.1f %.1f %d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency.mean, failed))
end

-- wrk.format replaces wrk's headers (those given with -H) when handed its own: keep them.
local form
function form_headers()
  if not form then
    form = {}
    for name, value in pairs(wrk.headers) do form[name] = value end
    form["Content-Type"] = "application/x-www-form-urlencoded"
  end
  return form
end
