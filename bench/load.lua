-- wrk script for `make bench` (bench/run.sh).
--   BENCH_ENRICH=distinct  POST the Cognigy payload, a new customerNumber on every request
--   BENCH_ENRICH=same      POST the Cognigy payload, always the demo customer CUST-992847
--   BENCH_BEARER=T         otherwise: a GET, with `Authorization: Bearer T` if T is set
-- The filter coalesces concurrent identical upstream calls, so identical requests measure
-- coalescing; run.sh's plugin configuration maps every distinct customer number to the demo
-- customer's data with a path the mocks ignore the rest of, so each request makes its own three
-- calls. A load of a fixed number of requests is run.sh's business (it interrupts wrk, which still
-- reports). At the end this prints one machine-readable line:
--   BENCH requests=N seconds=S rps=R p50_us=U p99_us=U non2xx=N errors=N
-- where errors counts connect, read, write and timeout errors.

local mode = os.getenv("BENCH_ENRICH") or ""
local bearer = os.getenv("BENCH_BEARER") or ""

local function payload(customer)
  return '{"sessionId":"bench-session-1","customerNumber":"' .. customer
    .. '","intent":"order_status","variables":{"channel":"voice"}}'
end

if mode ~= "" then
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. (os.getenv("BENCH_WEBHOOK_TOKEN") or "bench-webhook-token")
  wrk.body = payload("CUST-992847")
elseif bearer ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. bearer
end

if mode == "distinct" then
  -- At most 20 characters of [A-Za-z0-9_-]: a per-run prefix and a counter.
  local prefix = string.format("B%x-", os.time() % 0x100000)
  local counter = 0
  function request()
    counter = counter + 1
    return wrk.format(nil, nil, nil, payload(prefix .. counter))
  end
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
