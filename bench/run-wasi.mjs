// Runs a wasm32-wasip1 program in Node.js (V8, the engine Envoy's wasm runtime is built on):
//   node bench/run-wasi.mjs PROGRAM.wasm [ARGS...]
// Used by `make bench-core` for benches/core_v8.rs. Node's WASI gives it stdout and a clock;
// no directory is opened to it. The filter's library links the proxy-wasm SDK, whose host
// functions (module `env`) the core never calls: each is a function that fails loudly if it is.
import { readFile } from "node:fs/promises";
import { WASI } from "node:wasi";
import process from "node:process";

const [program, ...args] = process.argv.slice(2);
if (!program) {
  console.error("usage: node bench/run-wasi.mjs PROGRAM.wasm [ARGS...]");
  process.exit(2);
}
const wasi = new WASI({ version: "preview1", args: [program, ...args], env: {}, returnOnExit: true });
const module = await WebAssembly.compile(await readFile(program));
const env = {};
for (const i of WebAssembly.Module.imports(module)) {
  if (i.module === "env" && i.kind === "function") {
    env[i.name] = () => {
      throw new Error(`${i.name} called: the core bench runs without a proxy-wasm host`);
    };
  }
}
const instance = await WebAssembly.instantiate(module, { ...wasi.getImportObject(), env });
// The SDK's `proxy_wasm::main!` also exports `_initialize` (Envoy calls it), which Node's WASI
// refuses next to `_start`: the program is started through `_start` alone.
const { memory, _start } = instance.exports;
process.exitCode = wasi.start({ exports: { memory, _start } });
