// Summarizes V8 CPU profiles written by bench/wasm-profile.mjs --profile: self time by function,
// demangled (Rust legacy `_ZN...E` and, roughly, v0 `_R...`), grouped into buckets, per request.
//   node bench/cpuprofile-buckets.mjs --requests N --top 25 \
//        product=P.cpuprofile[,timing.json] minimal=M.cpuprofile[,timing.json]
// Prints Markdown: the bucket table of every profile, their difference (first minus second) per
// bucket, and the top functions of the first by self time. A sample's self time is the interval
// to the next sample (the profile's timeDeltas). The timing JSON (wasm-profile.mjs's output line)
// adds the time per request measured without the profiler.
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";

const { values: opt, positionals } = parseArgs({
  options: { requests: { type: "string" }, top: { type: "string", default: "25" } },
  allowPositionals: true,
});
if (!opt.requests || positionals.length === 0) {
  console.error("usage: node bench/cpuprofile-buckets.mjs --requests N [--top 25] NAME=FILE.cpuprofile[,TIMING.json] ...");
  process.exit(2);
}
const REQUESTS = Number(opt.requests);
const TOP = Number(opt.top);

// --- demangling --------------------------------------------------------------------------------
const ESCAPES = { SP: "@", BP: "*", RF: "&", LT: "<", GT: ">", LP: "(", RP: ")", C: "," };
function legacyIdent(id) {
  let s = id.startsWith("_$") ? id.slice(1) : id;
  s = s.replace(/\$([A-Z]{1,2}|u[0-9a-f]+)\$/g, (m, e) => (e[0] === "u" && e.length > 1 ? String.fromCodePoint(parseInt(e.slice(1), 16)) : (ESCAPES[e] ?? m)));
  return s.replace(/\.\./g, "::");
}
/** `_ZN3foo3bar17h0123456789abcdefE` -> foo::bar (the hash dropped). */
function demangleLegacy(name) {
  const parts = [];
  let i = 3; // after _ZN
  while (i < name.length && name[i] !== "E") {
    let j = i;
    while (j < name.length && name[j] >= "0" && name[j] <= "9") j++;
    if (j === i) return name;
    const n = Number(name.slice(i, j));
    parts.push(name.slice(j, j + n));
    i = j + n;
  }
  if (parts.length > 1 && /^h[0-9a-f]{16}$/.test(parts[parts.length - 1])) parts.pop();
  return parts.map(legacyIdent).join("::");
}
/** v0 (`_R...`), roughly: the identifiers of the path, disambiguators and generics dropped. */
function demangleV0(name) {
  const s = name.replace(/([CMXY])s[0-9A-Za-z]*_/g, "$1").replace(/B[0-9A-Za-z]*_/g, "");
  const parts = [];
  for (let i = 2; i < s.length; ) {
    if (s[i] >= "0" && s[i] <= "9") {
      let j = i;
      while (j < s.length && s[j] >= "0" && s[j] <= "9") j++;
      const n = Number(s.slice(i, j));
      if (s[j] === "_") j++;
      parts.push(s.slice(j, j + n));
      i = j + n;
    } else i++;
  }
  return parts.length ? parts.join("::") : name;
}
export function demangle(name) {
  // V8 compiles one wrapper per signature and names it after one import of that signature: the
  // name says which signature, not which import.
  const m = /^(wasm-to-js|js-to-wasm):([^-]*)-(.*)$/.exec(name);
  if (m) return `${m[1]} wrapper, signature ${m[2]} (every import of it)`;
  if (name.startsWith("_ZN")) return demangleLegacy(name);
  if (name.startsWith("_R")) return demangleV0(name);
  return name;
}

// --- buckets -----------------------------------------------------------------------------------
export const BUCKETS = [
  "core (cognigy_enrich outside glue; minimal_filter's own code)",
  "glue (cognigy_enrich::glue)",
  "SDK (proxy_wasm)",
  "allocator (dlmalloc, __rust_alloc, RawVec)",
  "memcpy / memset / memmove / memcmp",
  "serde_json / serde",
  "core / alloc / std",
  "other crates (regex_lite, log, hashbrown, ...)",
  "other wasm (unnamed, _initialize, ...)",
  "JS<->wasm call wrappers (host calls, callbacks)",
  "JS host (bench/proxy-wasm-host.mjs)",
  "JS driver (requests, mock replies, checks)",
  "V8 (GC, other)",
];
const [CORE, GLUE, SDK, ALLOC, MEM, SERDE, STD, OTHER, OTHER_WASM, WRAP, HOST, DRIVER, V8] = BUCKETS;
/** Wasm code the host calls outside any callback's filter frames (proxy_on_memory_allocate). */
const HOST_INVOKED = "wasm the host calls directly (proxy_on_memory_allocate)";
/** The self time of every bucket below the filter's frames, given to the nearest one. */
const LAYERS = [CORE, GLUE, SDK, HOST_INVOKED, WRAP, HOST, DRIVER, V8];

/** The path whose code a demangled wasm function is: its own, or (drop glue) what it drops. */
function ownPath(d) {
  let s = d;
  const drop = /^core::ptr::drop_in_place<(.*)>$/.exec(s);
  if (drop) s = drop[1];
  return s.replace(/^([<&(\[]|mut |dyn |const )+/, "");
}
export function wasmBucket(d) {
  if (/^(wasm-to-js|js-to-wasm) wrapper/.test(d)) return WRAP;
  if (/^(memcpy|memset|memmove|memcmp|bcmp|strlen)$|compiler_builtins::mem::/.test(d)) return MEM;
  if (
    /^(dlmalloc|dlfree|dlrealloc|dlcalloc|malloc|free|realloc|calloc|aligned_alloc|posix_memalign|proxy_on_memory_allocate|internal_memalign|dispose_chunk|sys_alloc|tmalloc_small|tmalloc_large|prepend_alloc)$/.test(d) ||
    /__rust_(alloc|dealloc|realloc|alloc_zeroed)|__rdl_|__rg_|^alloc::alloc::|RawVec|raw_vec::|dlmalloc::/.test(d)
  ) {
    return ALLOC;
  }
  if (/^proxy_on_|^proxy_abi_/.test(d)) return SDK;
  const path = ownPath(d);
  const crate = /^[A-Za-z_][A-Za-z0-9_]*/.exec(path)?.[0] ?? "";
  if (crate === "cognigy_enrich") return path.startsWith("cognigy_enrich::glue") ? GLUE : CORE;
  if (crate === "minimal_filter") return CORE;
  if (crate === "proxy_wasm") return SDK;
  if (/^serde/.test(crate)) return SERDE;
  if (/^(core|alloc|std|compiler_builtins|panic_abort|panic_unwind|hashbrown|std_detect|rustc_demangle)$/.test(crate)) return STD;
  if (/::/.test(d)) return OTHER;
  return OTHER_WASM;
}

function summarize(file) {
  const p = JSON.parse(readFileSync(file, "utf8"));
  const nodes = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const bucketOfNode = new Map();
  const bucketOf = (id) => {
    let b = bucketOfNode.get(id);
    if (b !== undefined) return b;
    const { functionName: f, url } = nodes.get(id).callFrame;
    if (url.startsWith("wasm://")) b = wasmBucket(demangle(f));
    else if (f === "(garbage collector)" || f === "(program)" || f === "(root)") b = V8;
    else if (f === "(idle)") b = null;
    else if (url.endsWith("proxy-wasm-host.mjs")) b = HOST;
    else if (url.endsWith("wasm-profile.mjs")) b = DRIVER;
    else {
      // A builtin (TextEncoder, a typed array's setter...): whoever called it.
      const up = parent.get(id);
      b = up === undefined ? V8 : bucketOf(up);
      if (b === WRAP || (b !== null && BUCKETS.indexOf(b) < BUCKETS.indexOf(WRAP))) b = HOST;
    }
    bucketOfNode.set(id, b);
    return b;
  };
  const nameOf = (id) => {
    const { functionName: f, url } = nodes.get(id).callFrame;
    return url.startsWith("wasm://") ? demangle(f) : `${f || "(anonymous)"} [${url.split("/").pop() || "native"}]`;
  };
  /** The nearest frame of the filter (core, glue, SDK) on the stack, or what called the wasm. */
  const layerOfNode = new Map();
  const layerOf = (id) => {
    let layer = layerOfNode.get(id);
    if (layer !== undefined) return layer;
    const leaf = bucketOf(id);
    layer = leaf;
    if (leaf !== null && BUCKETS.indexOf(leaf) <= BUCKETS.indexOf(WRAP)) {
      layer = HOST_INVOKED;
      for (let at = id; at !== undefined; at = parent.get(at)) {
        const b = bucketOf(at);
        if (b === CORE || b === GLUE || b === SDK) {
          layer = b;
          break;
        }
        if (b === null || BUCKETS.indexOf(b) > BUCKETS.indexOf(WRAP)) break;
      }
      if (leaf === WRAP) layer = WRAP;
    }
    layerOfNode.set(id, layer);
    return layer;
  };
  const byBucket = new Map(BUCKETS.map((b) => [b, 0]));
  const byLayer = new Map(LAYERS.map((b) => [b, 0]));
  const byFunction = new Map();
  /** Wasm time of the samples with the function anywhere on their stack (glue and SDK functions). */
  const inclusive = new Map();
  /** Wasm time under each of the core's entry points (the outermost core frame of a stack). */
  const entries = new Map();
  let total = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const dt = p.timeDeltas[i + 1] ?? 0;
    const id = p.samples[i];
    const b = bucketOf(id);
    if (b === null) continue;
    total += dt;
    byBucket.set(b, byBucket.get(b) + dt);
    const layer = layerOf(id);
    byLayer.set(layer, byLayer.get(layer) + dt);
    const key = `${nameOf(id)}\u0000${b}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + dt);
    if (BUCKETS.indexOf(b) >= BUCKETS.indexOf(WRAP)) continue;
    // The core's entry: the outermost core frame (the one the glue called).
    let entry;
    for (let at = id; at !== undefined; at = parent.get(at)) if (bucketOf(at) === CORE) entry = at;
    if (entry !== undefined) {
      const k = nameOf(entry);
      entries.set(k, (entries.get(k) ?? 0) + dt);
    }
    const seen = new Set();
    for (let at = id; at !== undefined; at = parent.get(at)) {
      const fb = bucketOf(at);
      if (fb !== GLUE && fb !== SDK) continue;
      const k = `${nameOf(at)}\u0000${fb}`;
      if (seen.has(k)) continue;
      seen.add(k);
      inclusive.set(k, (inclusive.get(k) ?? 0) + dt);
    }
  }
  return { total, byBucket, byLayer, byFunction, inclusive, entries };
}

const fmt = (us) => (us / REQUESTS).toFixed(2);
const pct = (part, whole) => ((100 * part) / whole).toFixed(1);
const runs = positionals.map((arg) => {
  const [name, files] = arg.split("=");
  const [profile, timing] = files.split(",");
  return { name, ...summarize(profile), timing: timing ? JSON.parse(readFileSync(timing, "utf8")) : null };
});
const out = [];
const wasmBuckets = BUCKETS.slice(0, BUCKETS.indexOf(WRAP));
const wasmTotal = (r) => wasmBuckets.reduce((a, b) => a + r.byBucket.get(b), 0);
out.push(`| bucket | ${runs.map((r) => `${r.name}: us/request | ${r.name}: %`).join(" | ")} |`);
out.push(`|---|${runs.map(() => "---:|---:").join("|")}|`);
for (const b of BUCKETS) {
  out.push(`| ${b} | ${runs.map((r) => `${fmt(r.byBucket.get(b))} | ${pct(r.byBucket.get(b), r.total)}`).join(" | ")} |`);
}
out.push(`| **wasm code (the rows above the wrappers)** | ${runs.map((r) => `**${fmt(wasmTotal(r))}** | ${pct(wasmTotal(r), r.total)}`).join(" | ")} |`);
out.push(`| all samples | ${runs.map((r) => `${fmt(r.total)} | 100`).join(" | ")} |`);
out.push("");
if (runs.length >= 2) {
  const [a, b] = runs;
  out.push(`Difference ${a.name} - ${b.name}, us per request (profiled):`);
  out.push("");
  out.push(`| bucket | ${a.name} | ${b.name} | difference |`);
  out.push("|---|---:|---:|---:|");
  for (const k of BUCKETS) {
    out.push(`| ${k} | ${fmt(a.byBucket.get(k))} | ${fmt(b.byBucket.get(k))} | ${fmt(a.byBucket.get(k) - b.byBucket.get(k))} |`);
  }
  out.push(`| **wasm code** | ${fmt(wasmTotal(a))} | ${fmt(wasmTotal(b))} | **${fmt(wasmTotal(a) - wasmTotal(b))}** |`);
  out.push("");
}
out.push("The same time by the nearest frame of the filter on the stack: the allocator, serde_json, std... code each layer calls counted with it (inclusive):");
out.push("");
out.push(`| layer | ${runs.map((r) => `${r.name}: us/request`).join(" | ")}${runs.length >= 2 ? " | difference" : ""} |`);
out.push(`|---|${runs.map(() => "---:").join("|")}${runs.length >= 2 ? "|---:" : ""}|`);
for (const l of LAYERS) {
  const diff = runs.length >= 2 ? ` | ${fmt(runs[0].byLayer.get(l) - runs[1].byLayer.get(l))}` : "";
  out.push(`| ${l} | ${runs.map((r) => fmt(r.byLayer.get(l))).join(" | ")}${diff} |`);
}
out.push("");
const first = runs[0];
const isWasm = (bucket) => BUCKETS.indexOf(bucket) <= BUCKETS.indexOf(WRAP);
/** Rows of the functions of `run` in `buckets` with the most self time. */
function topRows(run, keep, count) {
  return [...run.byFunction]
    .map(([key, us]) => [...key.split("\u0000"), us])
    .filter(([, bucket]) => keep(bucket))
    .sort((x, y) => y[2] - x[2])
    .slice(0, count)
    .map(([name, bucket, us], i) => {
      const shown = (name.length > 140 ? `${name.slice(0, 137)}...` : name).replace(/\|/g, "\\|");
      return `| ${i + 1} | \`${shown}\` | ${bucket.split(" (")[0]} | ${fmt(us)} | ${pct(us, run.total)} |`;
    });
}
const HEAD = ["| # | function | bucket | us/request | % of all samples |", "|---:|---|---|---:|---:|"];
out.push(`Top ${TOP} wasm functions of ${first.name} by self time (profiled us per request; names demangled, hashes dropped):`);
out.push("", ...HEAD, ...topRows(first, isWasm, TOP), "");
out.push(`The ${first.name}'s glue and SDK functions (all with at least 0.05 us per request):`);
out.push("", ...HEAD, ...topRows(first, (b) => b === GLUE || b === SDK, 1000).filter((row) => Number(row.split(" | ").at(-2)) >= 0.05), "");
out.push(`The ${first.name}'s glue and SDK functions by total wasm time (their wasm callees included, the host's work below a host call and the wrappers not; at least 0.2 us per request):`);
out.push("", "| # | function | bucket | us/request (total) | % of all samples |", "|---:|---|---|---:|---:|");
[...first.inclusive]
  .sort((x, y) => y[1] - x[1])
  .filter(([, us]) => us / REQUESTS >= 0.2)
  .forEach(([key, us], i) => {
    const [name, bucket] = key.split("\u0000");
    out.push(`| ${i + 1} | \`${name.replace(/\|/g, "\\|")}\` | ${bucket.split(" (")[0]} | ${fmt(us)} | ${pct(us, first.total)} |`);
  });
out.push("");
out.push(`The ${first.name}'s core by entry point (the outermost core frame: what the glue called; wasm time of everything below it; at least 0.2 us per request):`);
out.push("", "| # | entry point | us/request (total) | % of all samples |", "|---:|---|---:|---:|");
[...first.entries]
  .sort((x, y) => y[1] - x[1])
  .filter(([, us]) => us / REQUESTS >= 0.2)
  .forEach(([name, us], i) => out.push(`| ${i + 1} | \`${name.replace(/\|/g, "\\|")}\` | ${fmt(us)} | ${pct(us, first.total)} |`));
out.push("");
for (const run of runs.slice(1)) {
  out.push(`Top 10 wasm functions of ${run.name}:`);
  out.push("", ...HEAD, ...topRows(run, isWasm, 10), "");
}
console.log(out.join("\n"));
