//! A stand-in for the filter in tests of what Envoy does when a filter VM fails: a minimal
//! proxy-wasm module, assembled here, that answers a request `200 alive` by itself, holds one with
//! more than [`HOLD_ABOVE_HEADERS`] headers and traps (`unreachable`) on one with more than
//! [`TRAP_ABOVE_HEADERS`]. (A request with no extra headers has about ten, pseudo-headers
//! included.)

/// Requests with more headers than this trap the VM.
pub const TRAP_ABOVE_HEADERS: u8 = 60;
/// Requests with more headers than this (and not more than [`TRAP_ABOVE_HEADERS`]) are held:
/// paused and never answered, as a request waiting for its upstream calls is.
pub const HOLD_ABOVE_HEADERS: u8 = 20;

/// A proxy-wasm (ABI 0.2.1) module, encoded by hand: a request is answered `200 alive`, held
/// (paused, never answered) above [`HOLD_ABOVE_HEADERS`] headers, and traps the VM above
/// [`TRAP_ABOVE_HEADERS`].
pub fn trap_module() -> Vec<u8> {
    fn leb(mut v: u32, out: &mut Vec<u8>) {
        loop {
            let byte = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                out.push(byte);
                return;
            }
            out.push(byte | 0x80);
        }
    }
    fn name(s: &str, out: &mut Vec<u8>) {
        leb(s.len() as u32, out);
        out.extend_from_slice(s.as_bytes());
    }
    fn section(id: u8, body: Vec<u8>, out: &mut Vec<u8>) {
        out.push(id);
        leb(body.len() as u32, out);
        out.extend(body);
    }
    const I32: u8 = 0x7f;
    const END: u8 = 0x0b;
    // (params, results) of each function type.
    let types: [(&[u8], &[u8]); 6] = [
        (&[I32; 8], &[I32]),        // 0: proxy_send_local_response
        (&[], &[]),                 // 1: proxy_abi_version_0_2_1
        (&[I32], &[I32]),           // 2: proxy_on_memory_allocate
        (&[I32, I32], &[]),         // 3: proxy_on_context_create
        (&[I32, I32], &[I32]),      // 4: proxy_on_vm_start, proxy_on_configure
        (&[I32, I32, I32], &[I32]), // 5: proxy_on_request_headers
    ];
    // Function 0 is the import; 1.. are defined here: (export name, type, code).
    let body_ptr = 16u8;
    let body = b"alive";
    let on_request_headers: Vec<u8> = [
        &[0x20, 0x01][..],                         // local.get $num_headers
        &[0x41, TRAP_ABOVE_HEADERS],               // i32.const
        &[0x4b],                                   // i32.gt_u
        &[0x04, 0x40, 0x00, END],                  // if: unreachable (the trap)
        &[0x20, 0x01],                             // local.get $num_headers
        &[0x41, HOLD_ABOVE_HEADERS],               // i32.const
        &[0x4b],                                   // i32.gt_u
        &[0x04, 0x40, 0x41, 0x01, 0x0f, END],      // if: return Pause, never answered
        &[0x41, 0xc8, 0x01],                       // i32.const 200
        &[0x41, 0x00, 0x41, 0x00],                 // no details
        &[0x41, body_ptr, 0x41, body.len() as u8], // the body
        &[0x41, 0x00, 0x41, 0x00],                 // no extra headers
        &[0x41, 0x7f],                             // grpc status -1
        &[0x10, 0x00],                             // call proxy_send_local_response
        &[0x1a],                                   // drop its status
        &[0x41, 0x01],                             // return Pause
    ]
    .concat();
    let functions: [(&str, u32, Vec<u8>); 6] = [
        ("proxy_abi_version_0_2_1", 1, vec![]),
        (
            "proxy_on_memory_allocate",
            2,
            // return the heap top, move it up by the size asked for
            vec![0x23, 0x00, 0x23, 0x00, 0x20, 0x00, 0x6a, 0x24, 0x00],
        ),
        ("proxy_on_context_create", 3, vec![]),
        ("proxy_on_vm_start", 4, vec![0x41, 0x01]),
        ("proxy_on_configure", 4, vec![0x41, 0x01]),
        ("proxy_on_request_headers", 5, on_request_headers),
    ];

    let mut out = b"\0asm\x01\0\0\0".to_vec();
    let mut s = Vec::new();
    leb(types.len() as u32, &mut s);
    for (params, results) in types {
        s.push(0x60);
        leb(params.len() as u32, &mut s);
        s.extend_from_slice(params);
        leb(results.len() as u32, &mut s);
        s.extend_from_slice(results);
    }
    section(1, s, &mut out);
    let mut s = vec![1];
    name("env", &mut s);
    name("proxy_send_local_response", &mut s);
    s.extend([0x00, 0x00]);
    section(2, s, &mut out);
    let mut s = Vec::new();
    leb(functions.len() as u32, &mut s);
    for (_, ty, _) in &functions {
        leb(*ty, &mut s);
    }
    section(3, s, &mut out);
    section(5, vec![1, 0x00, 2], &mut out); // one memory, 2 pages
    section(6, vec![1, I32, 0x01, 0x41, 0x80, 0x08, END], &mut out); // mut heap = 1024
    let mut s = Vec::new();
    leb(functions.len() as u32 + 1, &mut s);
    name("memory", &mut s);
    s.extend([0x02, 0x00]);
    for (i, (export, _, _)) in functions.iter().enumerate() {
        name(export, &mut s);
        s.push(0x00);
        leb(i as u32 + 1, &mut s);
    }
    section(7, s, &mut out);
    let mut s = Vec::new();
    leb(functions.len() as u32, &mut s);
    for (_, _, code) in &functions {
        let mut f = vec![0x00]; // no locals
        f.extend_from_slice(code);
        f.push(END);
        leb(f.len() as u32, &mut s);
        s.extend(f);
    }
    section(10, s, &mut out);
    let mut s = vec![1, 0x00, 0x41, body_ptr, END];
    leb(body.len() as u32, &mut s);
    s.extend_from_slice(body);
    section(11, s, &mut out);
    out
}
