//! What Envoy does when the filter's VM cannot start or fails at run time, with the failure policy
//! of the shipped bootstrap (docs/failure-policy.md).
//!
//! The filter has no crash switch and must not get one, so the run-time failures use a stand-in:
//! a minimal proxy-wasm module (tests/support/trap.rs) that answers a request `200 alive` by
//! itself, holds one with more than `HOLD_ABOVE_HEADERS` headers and traps (`unreachable`) on one
//! with more than `TRAP_ABOVE_HEADERS`. It runs in place of the filter in the shipped
//! envoy/envoy.yaml, with everything else unchanged. (A request with no extra headers has about
//! ten, pseudo-headers included.)
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use support::trap::trap_module;
use support::*;

const SHIPPED_WASM: &str = "filename: target/wasm32-wasip1/release/cognigy_enrich.wasm";
const SHIPPED_POLICY: &str = "failure_policy: FAIL_RELOAD";

fn write_file(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cognigy-enrich-failure-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write module");
    path
}

/// The shipped bootstrap with `module` in place of the filter, one worker (so every request meets
/// the same VM), and the given policy line in place of the shipped one.
fn start_with(mocks: &Mocks, module: &Path, policy: &str) -> Result<Envoy, (String, String)> {
    let mut opts = EnvoyOptions {
        concurrency: 1,
        ..EnvoyOptions::default()
    };
    opts.patches.push((
        format!("filename: {}", support::envoy::wasm_path().display()),
        format!("filename: {}", module.display()),
    ));
    opts.patches
        .push((SHIPPED_POLICY.to_owned(), policy.to_owned()));
    Envoy::try_start(mocks, &opts)
}

fn get(agent: &ureq::Agent, envoy: &Envoy, extra_headers: usize) -> Resp {
    let names: Vec<String> = (0..extra_headers).map(|i| format!("x-pad-{i}")).collect();
    let headers: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "1")).collect();
    send(agent, "GET", &envoy.url("/anything"), &headers, None)
}

#[test]
fn shipped_bootstrap_names_the_policy() {
    let yaml =
        std::fs::read_to_string(support::envoy::repo_root().join("envoy/envoy.yaml")).unwrap();
    assert!(
        yaml.contains(SHIPPED_POLICY),
        "envoy.yaml: {SHIPPED_POLICY} missing"
    );
    assert!(yaml.contains("reload_config: { backoff: { base_interval: 0.2s, max_interval: 5s } }"));
    assert!(yaml.contains("request_timeout: 15s"));
    assert!(yaml.contains(SHIPPED_WASM));
    assert!(
        !yaml.contains("fail_open"),
        "fail_open is deprecated by failure_policy"
    );
}

#[test]
fn a_module_that_is_not_wasm_keeps_envoy_from_starting() {
    let mocks = Mocks::start(MockConfig::default()).unwrap();
    for (name, bytes) in [
        ("garbage.wasm", &b"this is not a wasm module"[..]),
        ("truncated.wasm", &trap_module()[..40]),
        ("empty.wasm", &b""[..]),
    ] {
        let path = write_file(name, bytes);
        let Err((why, log)) = start_with(&mocks, &path, SHIPPED_POLICY) else {
            panic!("Envoy started with {name}")
        };
        assert!(why.starts_with("exited"), "{name}: {why}\n{log}");
        assert!(
            log.contains("Unable to create Wasm plugin cognigy_enrich"),
            "{name}: the log does not say why:\n{log}"
        );
        assert!(
            log.contains("Plugin configured to fail closed failed to load"),
            "{name}: a module that does not load is never reloaded nor bypassed:\n{log}"
        );
    }
    let Err((why, log)) = start_with(
        &mocks,
        &PathBuf::from("/nonexistent/x.wasm"),
        SHIPPED_POLICY,
    ) else {
        panic!("Envoy started without its module")
    };
    assert!(why.starts_with("exited"), "{why}");
    assert!(log.contains("Invalid path: /nonexistent/x.wasm"), "{log}");
}

#[test]
fn the_stand_in_module_is_valid_and_answers() {
    let mocks = Mocks::start(MockConfig::default()).unwrap();
    let envoy = start_with(
        &mocks,
        &write_file("ok.wasm", &trap_module()),
        SHIPPED_POLICY,
    )
    .unwrap_or_else(|(why, log)| panic!("{why}\n{log}"));
    let r = get(&agent(), &envoy, 0);
    assert_eq!((r.status, r.body.as_str()), (200, "alive"));
}

/// Polls `f` until it returns true or `secs` pass.
fn eventually(secs: u64, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

#[test]
fn fail_reload_replaces_a_crashed_vm() {
    let mocks = Mocks::start(MockConfig::default()).unwrap();
    let module = write_file("reload.wasm", &trap_module());
    let mut envoy = start_with(&mocks, &module, SHIPPED_POLICY)
        .unwrap_or_else(|(why, log)| panic!("{why}\n{log}"));
    let keep_alive = agent();
    assert_eq!(get(&keep_alive, &envoy, 0).status, 200);
    // Twice: the reload is not one-shot.
    for round in 0..2 {
        let crashed = get(&keep_alive, &envoy, 70);
        assert_eq!(
            crashed.status, 503,
            "round {round}: the crashing request: {crashed:?}"
        );
        let started = Instant::now();
        let mut statuses = Vec::new();
        let recovered = eventually(10, || {
            let r = get(&agent(), &envoy, 0);
            statuses.push(r.status);
            r.status == 200 && r.body == "alive"
        });
        assert!(
            recovered,
            "round {round}: no fresh VM after the crash: {statuses:?}\n{}",
            envoy.log()
        );
        // The shipped backoff is 0.2 s; what fails meanwhile fails closed. 5 s (25 backoffs) is
        // for a new VM's start on a loaded machine.
        assert!(
            statuses.iter().all(|s| *s == 503 || *s == 200),
            "{statuses:?}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "round {round}: {:?} to recover",
            started.elapsed()
        );
    }
    assert!(envoy.is_running());
    assert_eq!(envoy.admin("/ready").0, 200);
    assert!(envoy.stat("wasm.cognigy_enrich.vm_reload_success") >= 2);
    // Panics with the log unless the trap is logged within 10 s (the log is written lazily).
    envoy.log_with(
        10,
        &["proxy_on_request_headers failed: Uncaught RuntimeError: unreachable"],
    );
}

/// A request the VM holds (as the filter holds one waiting for its upstream calls) when the VM
/// fails is not failed by Envoy: without a timeout it waits for the stream idle timeout (5 min;
/// seen waiting over 20 s). The shipped `request_timeout` ends it; here shortened to 2 s.
#[test]
fn a_request_held_by_a_vm_that_fails_ends_at_the_request_timeout() {
    let mocks = Mocks::start(MockConfig::default()).unwrap();
    let module = write_file("held.wasm", &trap_module());
    let mut opts = EnvoyOptions {
        concurrency: 1,
        ..EnvoyOptions::default()
    };
    opts.patches.push((
        format!("filename: {}", support::envoy::wasm_path().display()),
        format!("filename: {}", module.display()),
    ));
    opts.patches.push((
        "request_timeout: 15s".to_owned(),
        "request_timeout: 2s".to_owned(),
    ));
    let envoy = Envoy::try_start(&mocks, &opts).unwrap_or_else(|(why, log)| panic!("{why}\n{log}"));
    let url = envoy.url("/held");
    let started = Instant::now();
    let held = std::thread::spawn(move || {
        let mut req = agent().get(&url);
        for i in 0..25 {
            req = req.set(&format!("x-pad-{i}"), "1");
        }
        let status = match req.call() {
            Ok(r) => r.status(),
            Err(ureq::Error::Status(code, _)) => code,
            Err(e) => panic!("held request: {e}"),
        };
        (status, Instant::now())
    });
    // The held request is in Envoy (one worker, so its headers reached the VM before the
    // crashing request's can) before the VM is made to fail.
    assert!(
        eventually(10, || envoy.stat("http.gateway.downstream_rq_active") == 1),
        "the held request never became active"
    );
    assert_eq!(get(&agent(), &envoy, 70).status, 503, "the crash");
    let crashed_at = Instant::now();
    let (status, ended_at) = held.join().unwrap();
    let took = ended_at - started;
    // The timeout's 408 passes back through the failed filter, which fails it closed: 503.
    assert_eq!(status, 503, "the held request ends at request_timeout");
    assert!(
        ended_at > crashed_at,
        "it was still held when the VM failed"
    );
    // The 2 s request timeout runs from when Envoy got the headers, after `started` (100 ms for
    // its timer's granularity); 4 s above it for a loaded machine, still far below the 5 min
    // stream idle timeout that would end it without a request timeout.
    assert!(
        took >= Duration::from_millis(1900) && took < Duration::from_secs(6),
        "{took:?}"
    );
}

#[test]
fn fail_closed_answers_503_until_restart() {
    let mocks = Mocks::start(MockConfig::default()).unwrap();
    let module = write_file("closed.wasm", &trap_module());
    let mut envoy = start_with(&mocks, &module, "failure_policy: FAIL_CLOSED")
        .unwrap_or_else(|(why, log)| panic!("{why}\n{log}"));
    let keep_alive = agent();
    assert_eq!(get(&keep_alive, &envoy, 0).status, 200);
    assert_eq!(get(&keep_alive, &envoy, 70).status, 503);
    // For 3 s (15 times the FAIL_RELOAD backoff, which FAIL_CLOSED must not apply), every request
    // fails; the pause between requests only spreads them over that time.
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline {
        let r = get(&agent(), &envoy, 0);
        assert_eq!(r.status, 503, "a failed VM served a request: {r:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
    // Envoy itself stays up and ready: only the filter's requests fail.
    assert!(envoy.is_running());
    assert_eq!(envoy.admin("/ready").0, 200);
}
