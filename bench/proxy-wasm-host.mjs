// A small proxy-wasm host (ABI 0.2.1, as the Rust SDK 0.2.5 uses it) in Node.js, enough to run a
// filter module's HTTP requests one after another without Envoy: bench/wasm-profile.mjs drives
// the product and the minimal filter through it so `node --cpu-prof` can name the wasm functions
// (Envoy's V8 cannot: the pip build is stripped and takes no V8 flags).
//
// What it models, and what it does not:
// - one VM, one root context; the host makes a callback's context effective before calling it and
//   follows proxy_set_effective_context; a callout is bound to the context effective when it was
//   dispatched, and its reply goes to that context (as Envoy does);
// - callouts are answered by the embedder (`respond(call)`), in dispatch order, after the callback
//   that dispatched them returned (as Envoy's event loop would);
// - values returned to the module go through its `proxy_on_memory_allocate`, pointer and size
//   stored at the addresses it gave; header maps in the ABI's serialized form;
// - shared data with CAS, metrics, properties (set: stored; get: NotFound unless given), a timer
//   on the root context fired by `maybeTick()` when its period has passed on the real clock;
// - log lines are counted by level and dropped (`keepLogs` keeps them), the host's level is Info;
// - no streams other than HTTP, no gRPC, no queues: an import not implemented throws.
// WASI preview1 comes from node:wasi; the module's environment (its secrets, as Envoy's
// vm_config.environment_variables gives them) is the `env` option.
import { WASI } from "node:wasi";

export const Status = { Ok: 0, NotFound: 1, BadArgument: 2, CasMismatch: 8 };
const BufferType = { HttpRequestBody: 0, HttpCallResponseBody: 4, VmConfiguration: 6, PluginConfiguration: 7 };
const MapType = { HttpRequestHeaders: 0, HttpCallResponseHeaders: 6 };
const LogLevelInfo = 2;

const utf8 = new TextEncoder();
const text = new TextDecoder();

/** UTF-8 bytes of `s`; the strings a request repeats (header names and values) are cached. */
const encoded = new Map();
export function encode(s) {
  let bytes = encoded.get(s);
  if (bytes === undefined) {
    bytes = utf8.encode(s);
    if (s.length <= 256) {
      if (encoded.size >= 4096) encoded.clear();
      encoded.set(s, bytes);
    }
  }
  return bytes;
}

/** The string of u8[at, at + len): a loop for short ASCII, TextDecoder otherwise. */
function asciiOrUtf8(u8, at, len) {
  if (len > 64) return text.decode(u8.subarray(at, at + len));
  let s = "";
  for (let i = at; i < at + len; i++) {
    const c = u8[i];
    if (c >= 0x80) return text.decode(u8.subarray(at, at + len));
    s += String.fromCharCode(c);
  }
  return s;
}

/** Bytes of a header map in the ABI's form: count, (key_len, value_len) pairs, key\0value\0... */
export function serializeMap(pairs) {
  const parts = pairs.map(([k, v]) => [encode(k), typeof v === "string" ? encode(v) : v]);
  let size = 4 + 8 * parts.length;
  for (const [k, v] of parts) size += k.length + v.length + 2;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  view.setUint32(0, parts.length, true);
  let at = 4;
  for (const [k, v] of parts) {
    view.setUint32(at, k.length, true);
    view.setUint32(at + 4, v.length, true);
    at += 8;
  }
  for (const [k, v] of parts) {
    out.set(k, at);
    at += k.length + 1;
    out.set(v, at);
    at += v.length + 1;
  }
  return out;
}

/** The pairs of a serialized header map, as strings. */
export function deserializeMap(bytes) {
  if (bytes.length === 0) return [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = view.getUint32(0, true);
  const pairs = [];
  let at = 4 + 8 * n;
  for (let i = 0; i < n; i++) {
    const kl = view.getUint32(4 + 8 * i, true);
    const vl = view.getUint32(8 + 8 * i, true);
    const k = asciiOrUtf8(bytes, at, kl);
    at += kl + 1;
    const v = asciiOrUtf8(bytes, at, vl);
    at += vl + 1;
    pairs.push([k, v]);
  }
  return pairs;
}

/** A callout: its headers are decoded when the embedder first looks at them. */
class Callout {
  constructor(token, context, cluster, rawHeaders, body, timeoutMs) {
    Object.assign(this, { token, context, cluster, rawHeaders, body, timeoutMs });
  }
  get headers() {
    this.decoded ??= deserializeMap(this.rawHeaders);
    return this.decoded;
  }
}

export class ProxyWasmHost {
  /**
   * module: a compiled WebAssembly.Module; env: the WASI environment (the filter's secrets);
   * pluginConfig / vmConfig: bytes or strings; respond(call) => {status, headers, body} answers a
   * callout ({cluster, headers: [[k, v]] (decoded on first use), body, timeoutMs, context}); properties: {"a\0b": bytes}.
   */
  constructor({ module, env = {}, pluginConfig = "", vmConfig = "", respond, properties = {}, keepLogs = false }) {
    this.module = module;
    this.wasi = new WASI({ version: "preview1", args: ["proxy-wasm"], env, returnOnExit: true });
    this.pluginConfig = typeof pluginConfig === "string" ? utf8.encode(pluginConfig) : pluginConfig;
    this.vmConfig = typeof vmConfig === "string" ? utf8.encode(vmConfig) : vmConfig;
    this.respond = respond;
    this.properties = new Map(Object.entries(properties));
    this.keepLogs = keepLogs;
    this.logs = [];
    this.logCounts = [0, 0, 0, 0, 0, 0];
    this.rootId = 1;
    this.nextContextId = 2;
    this.nextToken = 1;
    this.effective = 0;
    /** context id -> {requestHeaders, requestBody, response, properties} (HTTP contexts). */
    this.contexts = new Map();
    /** Callouts dispatched and not answered yet, in dispatch order. */
    this.pending = [];
    /** The reply being delivered (its headers and body are what the module reads). */
    this.callReply = null;
    this.metrics = [];
    this.metricIds = new Map();
    this.shared = new Map(); // key -> {value: Uint8Array, cas}
    this.nextCas = 1;
    this.tickPeriodMs = 0;
    this.lastTickMs = 0;
    /** Host calls by kind (the import's name without `proxy_`). */
    this.calls = Object.fromEntries(
      "log get_log_level get_current_time_nanoseconds set_tick_period_milliseconds get_buffer_bytes get_header_map_pairs get_header_map_value get_property set_property get_shared_data set_shared_data http_call send_local_response set_effective_context define_metric increment_metric record_metric get_metric continue_stream close_stream done"
        .split(" ")
        .map((k) => [k, 0]),
    );
    /** Wall-clock nanoseconds = this + process.hrtime.bigint(). */
    this.clockOffsetNs = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();
  }

  /** Host calls so far, all kinds. */
  get hostCalls() {
    return Object.values(this.calls).reduce((a, b) => a + b, 0);
  }

  async instantiate() {
    const env = {};
    const impl = this.imports();
    for (const i of WebAssembly.Module.imports(this.module)) {
      if (i.module !== "env" || i.kind !== "function") continue;
      env[i.name] =
        impl[i.name] ??
        (() => {
          throw new Error(`proxy-wasm host: ${i.name} is not implemented`);
        });
    }
    this.instance = await WebAssembly.instantiate(this.module, { ...this.wasi.getImportObject(), env });
    this.x = this.instance.exports;
    this.memory = this.x.memory;
    return this;
  }

  /** _initialize, the root context, on_vm_start and on_configure; throws when either refuses. */
  start() {
    const { memory, _initialize } = this.x;
    if (_initialize) this.wasi.initialize({ exports: { memory, _initialize } });
    this.effective = this.rootId;
    this.x.proxy_on_context_create(this.rootId, 0);
    if (!this.x.proxy_on_vm_start(this.rootId, this.vmConfig.length)) throw new Error("proxy_on_vm_start refused");
    if (!this.x.proxy_on_configure(this.rootId, this.pluginConfig.length)) {
      throw new Error(`proxy_on_configure refused; logs: ${this.logs.join(" | ")}`);
    }
    this.lastTickMs = performance.now();
    this.drain();
  }

  /** Fires the root's timer when its period has passed (real clock), then answers its callouts. */
  maybeTick(force = false) {
    const now = performance.now();
    if (!force && (this.tickPeriodMs === 0 || now - this.lastTickMs < this.tickPeriodMs)) return false;
    this.lastTickMs = now;
    this.effective = this.rootId;
    this.x.proxy_on_tick(this.rootId);
    this.drain();
    return true;
  }

  /**
   * One HTTP request: headers ([[k, v]]) then the whole body (string or bytes) in two body
   * callbacks as Envoy gives a small HTTP/1 request (the data, then its end), its callouts
   * answered until none is left; returns the local response
   * ({status, headers, body: Uint8Array}) or null if the module sent none.
   */
  request(headers, body) {
    const id = this.nextContextId++;
    const ctx = {
      requestHeaders: headers,
      requestBody: typeof body === "string" ? utf8.encode(body) : body,
      response: null,
      properties: null,
    };
    this.contexts.set(id, ctx);
    this.x.proxy_on_context_create(id, this.rootId);
    this.effective = id;
    this.x.proxy_on_request_headers(id, headers.length, 0);
    this.drain();
    if (!ctx.response) {
      this.effective = id;
      this.x.proxy_on_request_body(id, ctx.requestBody.length, 0);
      this.drain();
    }
    if (!ctx.response) {
      this.effective = id;
      this.x.proxy_on_request_body(id, ctx.requestBody.length, 1);
      this.drain();
    }
    // Still paused: waiting for the root's timer (the first request waits for the token the
    // tick fetches). The timer fires on the real clock, as Envoy's would.
    const giveUp = performance.now() + 10_000;
    while (!ctx.response && this.tickPeriodMs > 0 && performance.now() < giveUp) {
      this.maybeTick();
    }
    this.effective = id;
    this.x.proxy_on_done(id);
    this.effective = id;
    this.x.proxy_on_log(id);
    this.x.proxy_on_delete(id);
    this.contexts.delete(id);
    return ctx.response;
  }

  /** Answers every pending callout (and those their replies dispatch), in dispatch order. */
  drain() {
    while (this.pending.length > 0) {
      const call = this.pending.shift();
      const reply = this.respond(call);
      const headers = [[":status", String(reply.status)], ...(reply.headers ?? [])];
      const body = typeof reply.body === "string" ? encode(reply.body) : (reply.body ?? new Uint8Array(0));
      this.callReply = { headers, body };
      this.effective = call.context;
      this.x.proxy_on_http_call_response(call.context, call.token, headers.length, body.length, 0);
      this.callReply = null;
    }
  }

  // --- memory ------------------------------------------------------------------------------------
  // The host's own work shows in the profile next to the module's: views are cached until the
  // memory grows, and short ASCII strings are copied byte by byte (TextEncoder and TextDecoder
  // cost a trip into C++ each, more than the copy for a header).
  view() {
    const b = this.memory.buffer;
    if (b !== this.buf) {
      this.buf = b;
      this.u8 = new Uint8Array(b);
      this.dv = new DataView(b);
    }
    return this.dv;
  }
  bytes(ptr, len) {
    this.view();
    return this.u8.subarray(ptr >>> 0, (ptr >>> 0) + (len >>> 0));
  }
  string(ptr, len) {
    this.view();
    return asciiOrUtf8(this.u8, ptr >>> 0, len >>> 0);
  }
  u32(ptr, value) {
    this.view().setUint32(ptr >>> 0, value >>> 0, true);
  }
  /** Copies `data` (bytes or a string) into memory the module allocated; stores pointer and size. */
  give(data, ptrPtr, sizePtr) {
    const bytes = typeof data === "string" ? encode(data) : data;
    let ptr = 0;
    if (bytes.length > 0) {
      ptr = this.x.proxy_on_memory_allocate(bytes.length) >>> 0;
      if (ptr === 0) throw new Error("proxy_on_memory_allocate returned 0");
      this.view();
      this.u8.set(bytes, ptr);
    }
    const dv = this.view();
    dv.setUint32(ptrPtr >>> 0, ptr, true);
    dv.setUint32(sizePtr >>> 0, bytes.length, true);
    return Status.Ok;
  }

  headerMap(type) {
    if (type === MapType.HttpRequestHeaders) return this.contexts.get(this.effective)?.requestHeaders ?? null;
    if (type === MapType.HttpCallResponseHeaders) return this.callReply?.headers ?? null;
    return null;
  }

  buffer(type) {
    switch (type) {
      case BufferType.HttpRequestBody:
        return this.contexts.get(this.effective)?.requestBody ?? null;
      case BufferType.HttpCallResponseBody:
        return this.callReply?.body ?? null;
      case BufferType.VmConfiguration:
        return this.vmConfig;
      case BufferType.PluginConfiguration:
        return this.pluginConfig;
      default:
        return null;
    }
  }

  // --- the ABI -----------------------------------------------------------------------------------
  imports() {
    const h = this;
    return {
      proxy_log(level, ptr, len) {
        h.calls.log++;
        h.logCounts[level]++;
        if (h.keepLogs) h.logs.push(`${level} ${h.string(ptr, len)}`);
        return Status.Ok;
      },
      proxy_get_log_level(retPtr) {
        h.calls.get_log_level++;
        h.u32(retPtr, LogLevelInfo);
        return Status.Ok;
      },
      proxy_get_current_time_nanoseconds(retPtr) {
        h.calls.get_current_time_nanoseconds++;
        const ns = h.clockOffsetNs + process.hrtime.bigint();
        h.view().setBigUint64(retPtr >>> 0, ns, true);
        return Status.Ok;
      },
      proxy_set_tick_period_milliseconds(period) {
        h.calls.set_tick_period_milliseconds++;
        h.tickPeriodMs = period >>> 0;
        h.lastTickMs = performance.now();
        return Status.Ok;
      },
      proxy_get_buffer_bytes(type, start, maxSize, ptrPtr, sizePtr) {
        h.calls.get_buffer_bytes++;
        const buf = h.buffer(type);
        if (!buf) return Status.NotFound;
        const s = Math.min(start >>> 0, buf.length);
        return h.give(buf.subarray(s, Math.min(buf.length, s + (maxSize >>> 0))), ptrPtr, sizePtr);
      },
      proxy_get_header_map_pairs(type, ptrPtr, sizePtr) {
        h.calls.get_header_map_pairs++;
        const map = h.headerMap(type);
        if (!map) return Status.NotFound;
        return h.give(serializeMap(map), ptrPtr, sizePtr);
      },
      proxy_get_header_map_value(type, keyPtr, keyLen, ptrPtr, sizePtr) {
        h.calls.get_header_map_value++;
        const map = h.headerMap(type);
        if (!map) return Status.NotFound;
        const key = h.string(keyPtr, keyLen).toLowerCase();
        const hit = map.find(([k]) => k === key);
        if (!hit) return Status.NotFound;
        return h.give(hit[1], ptrPtr, sizePtr);
      },
      proxy_get_property(pathPtr, pathLen, ptrPtr, sizePtr) {
        h.calls.get_property++;
        const value = h.properties.get(h.string(pathPtr, pathLen));
        if (value === undefined) return Status.NotFound;
        return h.give(value, ptrPtr, sizePtr);
      },
      proxy_set_property(pathPtr, pathLen, valuePtr, valueLen) {
        h.calls.set_property++;
        const ctx = h.contexts.get(h.effective);
        if (ctx) {
          ctx.properties ??= new Map();
          ctx.properties.set(h.string(pathPtr, pathLen), h.bytes(valuePtr, valueLen).slice());
        }
        return Status.Ok;
      },
      proxy_get_shared_data(keyPtr, keyLen, ptrPtr, sizePtr, casPtr) {
        h.calls.get_shared_data++;
        const entry = h.shared.get(h.string(keyPtr, keyLen));
        if (!entry) return Status.NotFound;
        h.give(entry.value, ptrPtr, sizePtr);
        h.u32(casPtr, entry.cas);
        return Status.Ok;
      },
      proxy_set_shared_data(keyPtr, keyLen, valuePtr, valueLen, cas) {
        h.calls.set_shared_data++;
        const key = h.string(keyPtr, keyLen);
        const entry = h.shared.get(key);
        if (entry && cas !== 0 && cas >>> 0 !== entry.cas) return Status.CasMismatch;
        h.shared.set(key, { value: h.bytes(valuePtr, valueLen).slice(), cas: h.nextCas++ });
        return Status.Ok;
      },
      proxy_http_call(upPtr, upLen, hdrPtr, hdrLen, bodyPtr, bodyLen, trPtr, trLen, timeoutMs, tokenPtr) {
        h.calls.http_call++;
        const token = h.nextToken++;
        h.pending.push(
          new Callout(
            token,
            h.effective,
            h.string(upPtr, upLen),
            h.bytes(hdrPtr, hdrLen).slice(),
            bodyLen ? h.bytes(bodyPtr, bodyLen).slice() : null,
            timeoutMs >>> 0,
          ),
        );
        h.u32(tokenPtr, token);
        return Status.Ok;
      },
      proxy_send_local_response(status, detPtr, detLen, bodyPtr, bodyLen, hdrPtr, hdrLen, grpcStatus) {
        h.calls.send_local_response++;
        const ctx = h.contexts.get(h.effective);
        if (!ctx) return Status.NotFound;
        if (ctx.response) throw new Error(`second local response for context ${h.effective}`);
        ctx.response = {
          status: status >>> 0,
          headers: deserializeMap(h.bytes(hdrPtr, hdrLen)),
          body: h.bytes(bodyPtr, bodyLen).slice(),
        };
        return Status.Ok;
      },
      proxy_set_effective_context(id) {
        h.calls.set_effective_context++;
        if (id !== h.rootId && !h.contexts.has(id)) return Status.BadArgument;
        h.effective = id;
        return Status.Ok;
      },
      proxy_define_metric(type, namePtr, nameLen, idPtr) {
        h.calls.define_metric++;
        const name = h.string(namePtr, nameLen);
        let id = h.metricIds.get(name);
        if (id === undefined) {
          id = h.metrics.length;
          h.metrics.push({ name, type, value: 0n, records: 0 });
          h.metricIds.set(name, id);
        }
        h.u32(idPtr, id);
        return Status.Ok;
      },
      proxy_increment_metric(id, offset) {
        h.calls.increment_metric++;
        const m = h.metrics[id];
        if (!m) return Status.NotFound;
        m.value += offset;
        return Status.Ok;
      },
      proxy_record_metric(id, value) {
        h.calls.record_metric++;
        const m = h.metrics[id];
        if (!m) return Status.NotFound;
        if (m.type === 2) m.records++;
        else m.value = value;
        return Status.Ok;
      },
      proxy_get_metric(id, retPtr) {
        h.calls.get_metric++;
        const m = h.metrics[id];
        if (!m) return Status.NotFound;
        h.view().setBigUint64(retPtr >>> 0, BigInt.asUintN(64, m.value), true);
        return Status.Ok;
      },
      proxy_continue_stream() {
        h.calls.continue_stream++;
        return Status.Ok;
      },
      proxy_close_stream() {
        h.calls.close_stream++;
        return Status.Ok;
      },
      proxy_done() {
        h.calls.done++;
        return Status.Ok;
      },
    };
  }
}
