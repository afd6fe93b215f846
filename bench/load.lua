-- wrk script for `make bench`.
--   BENCH_ENRICH=1      POST the Cognigy payload with the webhook token (otherwise a plain GET)
--   BENCH_BEARER=T      send `Authorization: Bearer T` (the direct /proxy load to a mock)
-- A load of a fixed number of requests is run.sh's business (it interrupts wrk, which still
-- reports). At the end it prints one machine-readable line:
--   BENCH requests=N seconds=S rps=R p50_us=U p99_us=U non2xx=N errors=N
-- where errors counts connect/read/write/timeout errors.

local enrich = os.getenv("BENCH_ENRICH") == "1"

if enrich then
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. (os.getenv("BENCH_WEBHOOK_TOKEN") or "bench-webhook-token")
  wrk.body = '{"sessionId":"bench-session-1","customerNumber":"CUST-992847",'
    .. '"intent":"order_status","variables":{"channel":"voice"}}'
end

local bearer = os.getenv("BENCH_BEARER")
if not enrich and bearer and bearer ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. bearer
end

function done(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d seconds=%.3f rps=%.1f p50_us=%d p99_us=%d non2xx=%d errors=%d\n",
    summary.requests, seconds, summary.requests / seconds,
    latency:percentile(50), latency:percentile(99),
    e.status, e.connect + e.read + e.write + e.timeout))
end
