// Drives enrich requests through a filter module in Node.js (V8) with bench/proxy-wasm-host.mjs,
// as `make bench` sends them to Envoy (bench/load.lua: a new customer number on every request),
// and times them; with --profile, V8's CPU profiler records the timed requests (the same profiler
// `node --cpu-prof` runs, started after the warm-up through node:inspector so the profile holds
// the measured requests only). Used by bench/wasm-profile.sh (`make bench-wasm-profile`).
//
//   node bench/wasm-profile.mjs --module product|minimal [--wasm FILE] [--warmup 2000]
//        [--requests 20000] [--batches 5] [--profile OUT.cpuprofile] [--interval-us 100]
//
// Every request is checked (outside the timed part): a 200 whose body is the enrich answer
// (product: JSON with customerProfile, recentOrders, openTickets, enrichedPromptContext) or the
// three service bodies concatenated (minimal); anything else stops the run with an error.
// Prints one JSON line: the time per request of each batch (host.request() alone: the module's
// callbacks, its host calls and this host's work behind them), host calls and log lines per request.
import { readFileSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector";
import { parseArgs } from "node:util";
import { randomUUID } from "node:crypto";
import { ProxyWasmHost } from "./proxy-wasm-host.mjs";

const here = new URL(".", import.meta.url);
const root = new URL("..", here);
const { values: opt } = parseArgs({
  options: {
    module: { type: "string" },
    wasm: { type: "string" },
    warmup: { type: "string", default: "2000" },
    requests: { type: "string", default: "20000" },
    batches: { type: "string", default: "5" },
    profile: { type: "string" },
    "interval-us": { type: "string", default: "100" },
  },
});
const kind = opt.module;
if (kind !== "product" && kind !== "minimal") {
  console.error("usage: node bench/wasm-profile.mjs --module product|minimal [options] (see the file's header)");
  process.exit(2);
}
const WARMUP = Number(opt.warmup);
const REQUESTS = Number(opt.requests);
const BATCHES = Number(opt.batches);

// The values bench/run.sh gives Envoy and wrk.
const WEBHOOK_TOKEN = "bench-webhook-token";
const SECRETS = {
  ENRICH_CLIENT_ID: "cognigy-proxy-client",
  ENRICH_CLIENT_SECRET: "proxy-secret-key",
  ENRICH_WEBHOOK_TOKENS: WEBHOOK_TOKEN,
};
const fixture = (name) => readFileSync(new URL(`fixtures/${name}`, here), "utf8").trim();
const TOKEN_REPLY = fixture("token.json");
const BEARER = JSON.parse(TOKEN_REPLY).access_token;
const BODIES = {
  customer_profile: fixture("customer-profile.json"),
  orders: fixture("orders.json"),
  crm: fixture("crm-tickets.json"),
};
const config = JSON.parse(readFileSync(new URL("config.json", here), "utf8"));

/** bench/run.sh's minimal_config: the same paths, deadline and bearer as the product's. */
function minimalConfig(c) {
  const s = c.services ?? {};
  const calls = [
    ["customer_profile", "customerProfile", "/api/v1/customers/{customerNumber}"],
    ["orders", "recentOrders", "/api/v1/orders?customerId={customerNumber}&limit={limit}&sort=createdDesc"],
    ["crm", "openTickets", "/api/v1/crm/tickets?customerId={customerNumber}&status=open"],
  ];
  const words = [`bearer=${BEARER}`, `path=${c.enrichPath ?? "/api/v1/agent-assist/enrich"}`, `timeoutMs=${c.deadlineMs ?? 4500}`];
  for (const [cluster, key, path] of calls) {
    const svc = s[key] ?? {};
    words.push(`call=${svc.cluster ?? cluster},${(svc.path ?? path).replace("{limit}", String(svc.limit ?? 5))}`);
  }
  return words.join(" ");
}

const wasmPath =
  opt.wasm ??
  (kind === "product"
    ? "target/wasm32-wasip1/release/cognigy_enrich.named.wasm"
    : "target/minimal-filter/wasm32-wasip1/release/minimal_filter.wasm");
const module = await WebAssembly.compile(readFileSync(new URL(wasmPath, root)));

// bench/load.lua's customer numbers: a per-run prefix and a counter.
const prefix = `B${(Math.floor(Date.now() / 1000) % 0x100000).toString(16)}-`;
let counter = 0;
let calloutsAnswered = 0;
/** The mock services' answers (bench/fixtures, fetched from examples/mock-upstreams). */
// The headers of a callout are checked on the first 1000 and then every 1000th: decoding them
// is this host's work, not the module's, and would otherwise weigh on the profile.
const JSON_HEADERS = [["content-type", "application/json"]];
const REPLY_HEADERS = Object.fromEntries(
  Object.entries(BODIES).map(([k, body]) => [k, [...JSON_HEADERS, ["content-length", String(body.length)]]]),
);
function respond(call) {
  calloutsAnswered++;
  if (call.cluster === "token_service") return { status: 200, headers: JSON_HEADERS, body: TOKEN_REPLY };
  const body = BODIES[call.cluster];
  if (body === undefined) throw new Error(`unexpected callout to ${call.cluster}`);
  if (calloutsAnswered <= 1000 || calloutsAnswered % 1000 === 0) {
    const get = (name) => call.headers.find(([k]) => k === name)?.[1];
    const path = get(":path") ?? "";
    const customer = `bench=${prefix}${counter}`;
    if (get("authorization") !== `Bearer ${BEARER}` || !path.startsWith("/api/v1/") || !path.endsWith(customer)) {
      throw new Error(`unexpected callout: ${JSON.stringify({ ...call, headers: call.headers })}`);
    }
  }
  return { status: 200, headers: REPLY_HEADERS[call.cluster], body };
}

const host = await new ProxyWasmHost({
  module,
  env: kind === "product" ? SECRETS : {},
  pluginConfig: kind === "product" ? JSON.stringify(config) : minimalConfig(config),
  respond,
  keepLogs: process.env.PROXY_WASM_HOST_LOGS === "1",
}).instantiate();
host.start();

// wrk's request as Envoy hands it to the filter (HTTP/1.1 turned into pseudo-headers, Envoy's
// x-forwarded-proto and x-request-id added).
function nextRequest() {
  counter++;
  const body = `{"sessionId":"bench-session-1","customerNumber":"${prefix}${counter}","intent":"order_status","variables":{"channel":"voice"}}`;
  const headers = [
    [":authority", "127.0.0.1:10100"],
    [":path", "/api/v1/agent-assist/enrich"],
    [":method", "POST"],
    [":scheme", "http"],
    ["content-type", "application/json"],
    ["authorization", `Bearer ${WEBHOOK_TOKEN}`],
    ["content-length", String(body.length)],
    ["x-forwarded-proto", "http"],
    ["x-request-id", randomUUID()],
  ];
  return { headers, body };
}

const decoder = new TextDecoder();
const MINIMAL_ANSWER = BODIES.customer_profile + BODIES.orders + BODIES.crm;
function verify(response, n) {
  if (!response) throw new Error(`request ${n}: no local response (logs: ${host.logs.slice(-5).join(" | ")})`);
  const text = decoder.decode(response.body);
  if (response.status !== 200) throw new Error(`request ${n}: status ${response.status}: ${text}`);
  if (kind === "minimal") {
    if (text !== MINIMAL_ANSWER) throw new Error(`request ${n}: unexpected minimal answer ${text}`);
    return;
  }
  const answer = JSON.parse(text);
  for (const key of ["customerProfile", "recentOrders", "openTickets", "enrichedPromptContext"]) {
    if (answer[key] === undefined || answer[key] === null) throw new Error(`request ${n}: answer without ${key}: ${text}`);
  }
}

/** Runs `count` requests; returns the nanoseconds spent inside host.request(). */
function run(count) {
  let spent = 0n;
  for (let i = 0; i < count; i++) {
    host.maybeTick();
    const { headers, body } = nextRequest();
    const t0 = process.hrtime.bigint();
    const response = host.request(headers, body);
    spent += process.hrtime.bigint() - t0;
    verify(response, counter);
  }
  return spent;
}

run(WARMUP);
const calls0 = host.hostCalls;
const byKind0 = { ...host.calls };
const logs0 = host.logCounts.reduce((a, b) => a + b, 0);
const callouts0 = calloutsAnswered;

let session;
const post = (method, params) =>
  new Promise((resolve, reject) => session.post(method, params, (err, res) => (err ? reject(err) : resolve(res))));
if (opt.profile) {
  session = new Session();
  session.connect();
  await post("Profiler.enable");
  await post("Profiler.setSamplingInterval", { interval: Number(opt["interval-us"]) });
  await post("Profiler.start");
}
const perBatch = [];
for (let b = 0; b < BATCHES; b++) perBatch.push(Number(run(REQUESTS)) / REQUESTS / 1000);
if (opt.profile) {
  const { profile } = await post("Profiler.stop");
  writeFileSync(opt.profile, JSON.stringify(profile));
  session.disconnect();
}
const total = BATCHES * REQUESTS;
const sorted = [...perBatch].sort((a, b) => a - b);
console.log(
  JSON.stringify({
    module: kind,
    wasm: wasmPath,
    node: process.version,
    warmup: WARMUP,
    requests: REQUESTS,
    batches: BATCHES,
    profiled: Boolean(opt.profile),
    us_per_request: perBatch.map((x) => Number(x.toFixed(2))),
    best_us: Number(sorted[0].toFixed(2)),
    median_us: Number(sorted[Math.floor(sorted.length / 2)].toFixed(2)),
    host_calls_per_request: Number(((host.hostCalls - calls0) / total).toFixed(2)),
    host_calls_by_kind: Object.fromEntries(
      Object.entries(host.calls)
        .map(([k, v]) => [k, Number(((v - byKind0[k]) / total).toFixed(2))])
        .filter(([, v]) => v > 0),
    ),
    log_lines_per_request: Number(((host.logCounts.reduce((a, b) => a + b, 0) - logs0) / total).toFixed(2)),
    callouts_per_request: Number(((calloutsAnswered - callouts0) / total).toFixed(2)),
  }),
);
