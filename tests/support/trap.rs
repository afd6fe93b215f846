//! A stand-in for the filter in tests of what Envoy does when a filter VM fails: a minimal
//! proxy-wasm module, written here as WebAssembly text (assembled by the `wat` crate), that answers
//! a request `200 alive` by itself, holds one with more than [`HOLD_ABOVE_HEADERS`] headers and
//! traps (`unreachable`) on one with more than [`TRAP_ABOVE_HEADERS`]. (A request with no extra
//! headers has about ten, pseudo-headers included.)

/// Requests with more headers than this trap the VM.
pub const TRAP_ABOVE_HEADERS: u32 = 60;
/// Requests with more headers than this (and not more than [`TRAP_ABOVE_HEADERS`]) are held:
/// paused and never answered, as a request waiting for its upstream calls is.
pub const HOLD_ABOVE_HEADERS: u32 = 20;

/// The proxy-wasm (ABI 0.2.1) module: a request is answered `200 alive`, held (paused, never
/// answered) above [`HOLD_ABOVE_HEADERS`] headers, and traps the VM above [`TRAP_ABOVE_HEADERS`].
pub fn trap_module() -> Vec<u8> {
    let text = format!(
        r#"
(module
  ;; status, details (ptr, len), body (ptr, len), headers (ptr, len), gRPC status -> result
  (import "env" "proxy_send_local_response"
    (func $send_local_response (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  (global $heap (mut i32) (i32.const 1024))
  (data (i32.const 16) "alive")

  (func (export "proxy_abi_version_0_2_1"))
  ;; Returns the heap top and moves it up by the size asked for; never frees.
  (func (export "proxy_on_memory_allocate") (param $size i32) (result i32)
    (global.get $heap)
    (global.set $heap (i32.add (global.get $heap) (local.get $size))))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_configure") (param i32 i32) (result i32) (i32.const 1))

  ;; Returns 1 (Pause) in every case: the request is answered, held, or the VM traps.
  (func (export "proxy_on_request_headers")
    (param $context i32) (param $num_headers i32) (param $end_of_stream i32) (result i32)
    (if (i32.gt_u (local.get $num_headers) (i32.const {TRAP_ABOVE_HEADERS}))
      (then (unreachable)))
    (if (i32.gt_u (local.get $num_headers) (i32.const {HOLD_ABOVE_HEADERS}))
      (then (return (i32.const 1))))
    (drop (call $send_local_response
      (i32.const 200)
      (i32.const 0) (i32.const 0)
      (i32.const 16) (i32.const 5)
      (i32.const 0) (i32.const 0)
      (i32.const -1)))
    (i32.const 1)))
"#
    );
    wat::parse_str(&text).unwrap_or_else(|e| panic!("the stand-in module: {e}"))
}
