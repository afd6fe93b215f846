//! Changing the filter while it serves, under a bounded steady load (about 200 requests/s from
//! keep-alive connections on loopback, every answer checked) in the real Envoy with
//! `--concurrency 2` (docs/operations.md has the figures these tests print):
//!
//! - `config_pushes_a_refused_push_and_a_module_upgrade_under_load`, one stack, in order:
//!   1. ten plugin-configuration pushes through ECDS (a file-based `path_config_source`, replaced
//!      atomically) over about 60 s, alternating `deadlineMs`, the prompt template and
//!      `services.recentOrders.fields`: every request answers 200, each setting is visible after its push,
//!      the token is fetched once, RSS stays flat and the old root contexts end;
//!   2. a push `on_configure` refuses (a typo'd field): `config_fail` rises, the log names the
//!      field, the running configuration keeps answering;
//!   3. a module upgrade (the same code built with another version string) with slow requests in
//!      flight on the old VM: they finish there, the old VM's root contexts end after them.
//! - `hot_restart_under_load`: a second Envoy (`--restart-epoch 1`, same random `--base-id`)
//!   takes over; no request fails; the token fetches and the drain time are measured.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use support::ecds::{self, Ecds};
use support::envoy::{render_bootstrap, repo_root, wasm_path, HotRestart};
use support::load::{self, Load, LoadSpec, Report};
use support::*;

use cognigy_enrich::build_info;

/// The load's customer.
const LOAD_CUSTOMER: &str = "CUST-992847";
/// A customer with several orders: `services.recentOrders.fields` shows in its answer.
const LIST_CUSTOMER: &str = "CUST-100003";
/// A customer whose orders call the mock holds [`SLOW_ORDERS_MS`]: the deadline shows in its
/// answer (degraded when the deadline is shorter).
const SLOW_CUSTOMER: &str = "CUST-100001";
const SLOW_ORDERS_MS: u64 = 2000;
/// The two deadlines a push alternates between: one cuts the slow customer's orders off, the
/// other waits for them. The short one still leaves the load's requests (a few ms each) a
/// margin of two orders of magnitude on a loaded 2-core machine.
const SHORT_DEADLINE_MS: u64 = 1000;
/// Long enough to hold requests through a module upgrade (loading a module took up to about
/// 7 s on a busy 2-core machine); the connection manager's `request_timeout` is raised above it.
const LONG_DEADLINE_MS: u64 = 45_000;
/// How long the mock holds the orders calls of requests kept in flight through the upgrade,
/// unless the test lets them go first (it does, once the new module runs).
const HOLD_MS: u64 = 40_000;
/// Version string of the upgrade build.
const UPGRADE_VERSION: &str = "0.1.0-upgrade-test";
const RATE_PER_S: u32 = 200;
const CONNECTIONS: usize = 8;
/// Seconds between configuration pushes: ten of them span about 60 s of load.
const PUSH_EVERY: Duration = Duration::from_millis(5500);
/// Bound for anything Envoy does after a push (reload, root contexts ending). Typical: well
/// under a second; the margin covers a 2-core machine busy with builds.
const SETTLE_SECS: u64 = 20;
/// Bound for a module upgrade to run: Envoy compiles and vets the new module first (2-9 s seen
/// on a busy 2-core machine). Below [`HOLD_MS`], so requests held on the old VM are still held.
const UPGRADE_SECS: u64 = 30;

/// One plugin configuration the test pushes.
#[derive(Clone, Debug)]
struct Gen {
    n: usize,
    deadline_ms: u64,
    /// Whether `services.recentOrders.fields` narrows each order to [`ORDER_FIELDS`].
    narrow_orders: bool,
}

/// The allow-list a push alternates with none (every key of each order).
const ORDER_FIELDS: [&str; 2] = ["orderNumber", "status"];

impl Gen {
    fn template(&self) -> String {
        format!("gen {}: {{customerName}} / {{segment}}", self.n)
    }

    fn prompt_for_elena(&self) -> String {
        format!("gen {}: Elena Rostova / Premium", self.n)
    }

    fn json(&self) -> String {
        serde_json::json!({
            "deadlineMs": self.deadline_ms,
            "prompt": {"template": self.template()},
            "services": {
                "customerProfile": {"cache": {"ttlMs": 30000, "staleIfErrorMs": 300000}},
                "recentOrders": if self.narrow_orders {
                    serde_json::json!({"fields": ORDER_FIELDS})
                } else {
                    serde_json::json!({})
                },
            },
        })
        .to_string()
    }

    /// Push `k` (1-based) changes one setting of `self`, in turn: deadline, template, the
    /// orders' `fields`.
    fn next(&self, k: usize) -> (Gen, &'static str) {
        let mut g = self.clone();
        let what = match (k - 1) % 3 {
            0 => {
                g.deadline_ms = if g.deadline_ms == LONG_DEADLINE_MS {
                    SHORT_DEADLINE_MS
                } else {
                    LONG_DEADLINE_MS
                };
                "deadlineMs"
            }
            1 => {
                g.n = k;
                "prompt.template"
            }
            _ => {
                g.narrow_orders = !g.narrow_orders;
                "services.recentOrders.fields"
            }
        };
        (g, what)
    }
}

fn fresh_agent() -> ureq::Agent {
    // A new agent per probe is a new connection, so probes reach both workers.
    agent()
}

fn probe(envoy: &Envoy, customer: &str, id: &str) -> Resp {
    enrich_with_id(&fresh_agent(), envoy, &payload(customer), id)
}

/// Whether `g`'s `setting` shows in a fresh answer; `Err` describes what the answer showed.
fn shows(envoy: &Envoy, g: &Gen, setting: &str, id: &str) -> Result<(), String> {
    match setting {
        "prompt.template" => {
            let r = probe(envoy, LOAD_CUSTOMER, id);
            let prompt = r.json()["enrichedPromptContext"].clone();
            (r.status == 200 && prompt == g.prompt_for_elena().as_str())
                .then_some(())
                .ok_or(format!("{} {prompt}", r.status))
        }
        "services.recentOrders.fields" => {
            let r = probe(envoy, LIST_CUSTOMER, id);
            let orders = r.json()["recentOrders"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let keys: Vec<Vec<String>> = orders
                .iter()
                .map(|o| {
                    o.as_object()
                        .map_or(vec![], |m| m.keys().cloned().collect())
                })
                .collect();
            // Narrowed: each order has exactly the listed keys; not narrowed: each has more.
            let as_pushed = keys.iter().all(|k| {
                let only_listed = k.len() == ORDER_FIELDS.len()
                    && ORDER_FIELDS.iter().all(|f| k.iter().any(|x| x == f));
                only_listed == g.narrow_orders
            });
            (r.status == 200 && orders.len() > 1 && as_pushed)
                .then_some(())
                .ok_or(format!("{} order keys {keys:?}", r.status))
        }
        "deadlineMs" => {
            let r = probe(envoy, SLOW_CUSTOMER, id);
            let degraded = r.json()["degraded"].clone();
            let want_degraded = g.deadline_ms < SLOW_ORDERS_MS;
            let is_degraded = degraded == serde_json::json!(["recentOrders"]);
            (r.status == 200 && is_degraded == want_degraded)
                .then_some(())
                .ok_or(format!("{} degraded {degraded}", r.status))
        }
        other => panic!("no probe for {other}"),
    }
}

/// Waits until `setting` of `g` shows in an answer, then checks it in six more answers on new
/// connections at once (both workers, but for a 1-in-32 chance). Returns how long it took to
/// show from `since`.
fn wait_visible(envoy: &Envoy, g: &Gen, setting: &str, since: Instant) -> Duration {
    let deadline = Instant::now() + Duration::from_secs(SETTLE_SECS);
    let mut i = 0;
    loop {
        i += 1;
        let Err(last) = shows(envoy, g, setting, &format!("probe-{}-{i}", g.n)) else {
            break;
        };
        assert!(
            Instant::now() < deadline,
            "{setting} of gen {} not visible after {SETTLE_SECS} s: {last}",
            g.n
        );
    }
    let took = since.elapsed();
    std::thread::scope(|s| {
        let probes: Vec<_> = (0..6)
            .map(|j| {
                let id = format!("probe-{}-again-{j}", g.n);
                s.spawn(move || shows(envoy, g, setting, &id))
            })
            .collect();
        for p in probes {
            if let Err(e) = p.join().unwrap() {
                panic!("{setting} of gen {} visible once, then not: {e}", g.n);
            }
        }
    });
    took
}

/// The load's check: a 200 for [`LOAD_CUSTOMER`] whose prompt comes from one of the pushed
/// templates (`gen <n>: Elena Rostova / Premium`).
fn load_check() -> load::Check {
    let plain = load::enrich_ok(LOAD_CUSTOMER);
    Arc::new(move |r: &Resp| {
        plain(r)?;
        let prompt = r.json()["enrichedPromptContext"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let ours = prompt
            .strip_prefix("gen ")
            .and_then(|rest| rest.split_once(": "))
            .is_some_and(|(n, tail)| {
                n.parse::<usize>().is_ok() && tail == "Elena Rostova / Premium"
            });
        ours.then_some(())
            .ok_or(format!("prompt from no pushed template: {prompt:?}"))
    })
}

fn start_load(envoy: &Envoy, max: Duration, check: load::Check) -> Load {
    Load::start(
        LoadSpec {
            base_url: envoy.url(""),
            body: payload(LOAD_CUSTOMER),
            rate_per_s: RATE_PER_S,
            connections: CONNECTIONS,
            max_duration: max,
        },
        check,
    )
}

fn assert_clean(report: &Report, what: &str) {
    println!("{what}: {}", report.summary());
    assert_eq!(
        report.failed, 0,
        "{what}: failed requests: {:#?}",
        report.failures
    );
    // The load really ran at about the asked rate (not, say, stalled for half the time): at
    // least half of it, which a busy 2-core machine still reaches.
    assert!(
        report.rate() >= f64::from(RATE_PER_S) / 2.0,
        "{what}: load too thin: {}",
        report.summary()
    );
}

/// The filter built again with `COGNIGY_ENRICH_VERSION=<version>` into its own target directory
/// (seeded from the main build's, so only the crate itself is compiled: about 20 s).
fn upgrade_build(version: &str) -> PathBuf {
    let root = repo_root();
    let dir = root.join("target/upgrade-test");
    if !dir.join("wasm32-wasip1").exists() {
        std::fs::create_dir_all(&dir).unwrap();
        for sub in ["wasm32-wasip1", "release"] {
            let from = root.join("target").join(sub);
            if from.exists() {
                let ok = Command::new("cp")
                    .arg("-a")
                    .arg(&from)
                    .arg(&dir)
                    .status()
                    .unwrap();
                assert!(ok.success(), "copy {}", from.display());
            }
        }
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let out = Command::new(cargo)
        .args(["build", "--release", "--target", "wasm32-wasip1"])
        .arg("--target-dir")
        .arg(&dir)
        .env("COGNIGY_ENRICH_VERSION", version)
        .current_dir(&root)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "upgrade build failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let wasm = dir.join("wasm32-wasip1/release/cognigy_enrich.wasm");
    let opt = Command::new(root.join("scripts/optimize-wasm.sh"))
        .arg(&wasm)
        .current_dir(&root)
        .output()
        .unwrap();
    assert!(
        opt.status.success(),
        "{}",
        String::from_utf8_lossy(&opt.stderr)
    );
    wasm
}

/// `(thread, line)` of Envoy's log lines (default format `[time][thread][level][logger] ...`).
fn log_lines(log: &str) -> Vec<(String, String)> {
    log.lines()
        .map(|l| {
            let thread = l
                .split(']')
                .nth(1)
                .unwrap_or_default()
                .trim_start_matches('[');
            (thread.to_owned(), l.to_owned())
        })
        .collect()
}

fn count(log: &str, needle: &str) -> usize {
    log.lines().filter(|l| l.contains(needle)).count()
}

const ROOT_DONE: &str = "wasmcustom.cognigy_enrich.root_done";
/// Root contexts of one plugin configuration: one per worker (`--concurrency 2`) and one on
/// Envoy's main thread.
const ROOTS_PER_CONFIG: u64 = 3;

#[test]
fn config_pushes_a_refused_push_and_a_module_upgrade_under_load() {
    // Built first: it takes longer than anything else here, and on a loaded machine.
    let built = Instant::now();
    let upgrade_wasm = upgrade_build(UPGRADE_VERSION);
    println!("upgrade build: {:.1} s", built.elapsed().as_secs_f64());

    let mocks = Mocks::start(MockConfig::default()).unwrap();
    mocks.set_recording(false);
    mocks.set_path_delay_ms(Service::Orders, SLOW_CUSTOMER, SLOW_ORDERS_MS);
    let dir = std::env::temp_dir().join(format!("cognigy-enrich-ops-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ecds = Ecds::new(&mocks, &dir);
    let mut gen = Gen {
        n: 0,
        deadline_ms: LONG_DEADLINE_MS,
        narrow_orders: false,
    };
    let wasm = wasm_path();
    assert_ne!(
        std::fs::read(&wasm).unwrap(),
        std::fs::read(&upgrade_wasm).unwrap(),
        "the upgrade is another module"
    );
    ecds.push(&gen.json(), &wasm);
    assert!(ecds.bootstrap.contains("request_timeout: 15s"));
    let envoy = Envoy::start(
        &mocks,
        EnvoyOptions {
            bootstrap: Some(
                ecds.bootstrap
                    .replace("request_timeout: 15s", "request_timeout: 60s"),
            ),
            ..EnvoyOptions::default()
        },
    );
    let reload = ecds::stat_name("update_success");
    let reloads_at_start = envoy.stat(&reload);
    assert!(
        reloads_at_start >= 1,
        "the first configuration came by ECDS"
    );
    wait_visible(&envoy, &gen, "prompt.template", Instant::now());

    let load = start_load(&envoy, Duration::from_secs(150), load_check());
    assert!(load.wait_for_more(200, 30), "the load is flowing");

    // 1. Ten pushes, one every PUSH_EVERY.
    let this_version = format!(
        "wasmcustom.cognigy_enrich.configured.{}",
        build_info::metric_label(build_info::VERSION)
    );
    // Each configuration runs in one root context per worker and one on the main thread; before
    // that, Envoy vets it in a canary VM that it kills (configured, never ended).
    let roots_live = ROOTS_PER_CONFIG;
    assert_eq!(envoy.stat(&this_version), roots_live + 1);
    assert_eq!(envoy.stat(ROOT_DONE), 0);
    let mut rss_after_first = 0;
    let mut visible_after = Vec::new();
    let first_push = Instant::now();
    for k in 1..=10 {
        let at = first_push + PUSH_EVERY * (k as u32 - 1);
        if let Some(wait) = at.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait); // pacing the schedule, not ordering events
        }
        let (next, setting) = gen.next(k);
        gen = next;
        let done_before = envoy.stat(ROOT_DONE);
        let pushed = Instant::now();
        ecds.push(&gen.json(), &wasm);
        let reloads = envoy.wait_stat(&reload, reloads_at_start + k as u64, SETTLE_SECS);
        assert_eq!(reloads, reloads_at_start + k as u64, "push {k} applied");
        let applied = pushed.elapsed();
        let took = wait_visible(&envoy, &gen, setting, pushed);
        visible_after.push(took);
        // The previous configuration's root contexts end once no request uses them.
        let done = envoy.wait_stat(ROOT_DONE, done_before + roots_live, SETTLE_SECS);
        assert_eq!(
            done,
            done_before + roots_live,
            "push {k}: old root contexts ended"
        );
        println!(
            "push {k} ({setting}): applied after {} ms, visible in an answer after {} ms (the probe's own time included), RSS {} KiB, configured {}, done {}",
            applied.as_millis(),
            took.as_millis(),
            envoy.rss_kib(),
            envoy.stat(&this_version),
            envoy.stat(ROOT_DONE)
        );
        if k == 1 {
            rss_after_first = envoy.rss_kib();
        }
    }
    let rss_after_tenth = envoy.rss_kib();
    let pushes_took = first_push.elapsed();
    let log = envoy.log_when(5, |l| {
        count(l, " done (0 requests in flight)") as u64 >= 10 * roots_live
    });
    println!(
        "10 pushes in {:.1} s; {} root contexts per configuration; old ones ended: {} ({} log lines); RSS after the 1st push {} KiB, after the 10th {} KiB ({:+} KiB)",
        pushes_took.as_secs_f64(),
        roots_live,
        envoy.stat(ROOT_DONE),
        count(&log, " done (0 requests in flight)"),
        rss_after_first,
        rss_after_tenth,
        rss_after_tenth as i64 - rss_after_first as i64
    );
    assert_eq!(envoy.stat(ROOT_DONE), 10 * roots_live);
    assert_eq!(
        count(&log, " done (0 requests in flight)") as u64,
        10 * roots_live
    );
    assert!(
        rss_after_tenth <= rss_after_first + 2048,
        "RSS grew by {} KiB over 9 pushes",
        rss_after_tenth - rss_after_first
    );
    assert_eq!(
        mocks.request_count(Service::Token),
        1,
        "one token fetch across all pushes"
    );
    assert_eq!(envoy.stat("wasmcustom.cognigy_enrich.token_fetch.ok"), 1);

    // 2. A push on_configure refuses: a typo'd field.
    let fails = ecds::stat_name("config_fail");
    let rejected_before = envoy.stat(&ecds::stat_name("update_rejected"));
    let fails_before = envoy.stat(&fails);
    let reloads_before = envoy.stat(&reload);
    let typo = gen.json().replacen("\"deadlineMs\"", "\"deadlinMs\"", 1);
    assert_ne!(typo, gen.json());
    ecds.push(&typo, &wasm);
    assert_eq!(
        envoy.wait_stat(&fails, fails_before + 1, SETTLE_SECS),
        fails_before + 1,
        "the refused push is counted"
    );
    let log = envoy.log_when(5, |l| l.contains("deadlinMs"));
    let named = log
        .lines()
        .find(|l| l.contains("invalid plugin configuration") && l.contains("deadlinMs"))
        .unwrap_or_else(|| panic!("no log line names the field:\n{log}"));
    println!("refused push: {named}");
    assert_eq!(envoy.stat(&reload), reloads_before, "nothing was applied");
    assert_eq!(
        envoy.stat(&ecds::stat_name("update_rejected")),
        rejected_before + 1
    );
    for setting in [
        "prompt.template",
        "services.recentOrders.fields",
        "deadlineMs",
    ] {
        shows(&envoy, &gen, setting, "after-refused")
            .unwrap_or_else(|e| panic!("the running configuration changed ({setting}): {e}"));
    }

    // 3. A module upgrade, with requests held in flight on the old VM: four customers whose
    // orders calls the mock holds until the new module runs (four, so that no two share a call
    // by coalescing, and both workers most likely hold some).
    let held_customers: [&'static str; 4] =
        [SLOW_CUSTOMER, "CUST-100002", LIST_CUSTOMER, "CUST-100004"];
    for c in held_customers {
        mocks.set_path_delay_ms(Service::Orders, c, HOLD_MS);
    }
    mocks.clear_requests();
    mocks.set_recording(true);
    let done_before = envoy.stat(ROOT_DONE);
    let tokens_before = mocks.request_count(Service::Token);
    let held: Vec<_> = held_customers
        .into_iter()
        .enumerate()
        .map(|(i, customer)| {
            let url = envoy.url(ENRICH_PATH);
            std::thread::spawn(move || {
                let started = Instant::now();
                let r = send(
                    &agent(),
                    "POST",
                    &url,
                    &[
                        ("authorization", &format!("Bearer {WEBHOOK_TOKEN}")),
                        ("content-type", "application/json"),
                        ("x-request-id", &format!("inflight-{i}")),
                    ],
                    Some(payload(customer).as_bytes()),
                );
                (r, started.elapsed())
            })
        })
        .collect();
    // In flight on the old VM once the orders mock holds their calls.
    let bound = Instant::now() + Duration::from_secs(SETTLE_SECS);
    while !held_customers.iter().all(|c| {
        mocks
            .requests(Service::Orders)
            .iter()
            .any(|r| r.path_and_query.contains(c))
    }) {
        assert!(
            Instant::now() < bound,
            "the held requests never reached the orders mock"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    mocks.set_recording(false);
    let pushed = Instant::now();
    ecds.push(&gen.json(), &upgrade_wasm);
    assert_eq!(
        envoy.wait_stat(&reload, reloads_before + 1, UPGRADE_SECS),
        reloads_before + 1,
        "the upgrade was applied"
    );
    let new_version = format!(
        "wasmcustom.cognigy_enrich.configured.{}",
        build_info::metric_label(UPGRADE_VERSION)
    );
    // The canary and the main thread's root at least; the workers' follow.
    assert!(envoy.wait_stat(&new_version, roots_live + 1, UPGRADE_SECS) > roots_live);
    let switched = pushed.elapsed();
    // New requests run the new module while the held ones are still on the old VM, whose root
    // contexts are alive on every worker that holds one of them: at most the main thread's and
    // one worker's (if all four went to the other worker) have ended.
    shows(&envoy, &gen, "prompt.template", "new-module").unwrap();
    let done_while_held = envoy.stat(ROOT_DONE) - done_before;
    assert!(
        done_while_held < roots_live,
        "every old root ended while requests were held on it"
    );
    assert!(
        held.iter().all(|h| !h.is_finished()),
        "held requests answered early"
    );
    for c in held_customers {
        mocks.set_path_delay_ms(Service::Orders, c, 0);
    }
    mocks.set_path_delay_ms(Service::Orders, SLOW_CUSTOMER, SLOW_ORDERS_MS);
    let mut longest = Duration::ZERO;
    for h in held {
        let (r, took) = h.join().unwrap();
        longest = longest.max(took);
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(
            r.json().get("degraded").is_none(),
            "complete answer: {}",
            r.body
        );
    }
    let done = envoy.wait_stat(ROOT_DONE, done_before + roots_live, SETTLE_SECS);
    assert_eq!(
        done,
        done_before + roots_live,
        "the old VM's root contexts ended"
    );
    for setting in [
        "prompt.template",
        "services.recentOrders.fields",
        "deadlineMs",
    ] {
        shows(&envoy, &gen, setting, "after-upgrade").unwrap();
    }
    // The same from the log, per worker thread: each held request answered after that worker
    // had configured the new module, and the worker's old root context ended only after it.
    let log = envoy.log_when(5, |l| count(l, "[inflight-") >= 4);
    let lines = log_lines(&log);
    for i in 0..4 {
        let id = format!("[inflight-{i}] enrich ok");
        let (at, (thread, _)) = lines
            .iter()
            .enumerate()
            .find(|(_, (_, l))| l.contains(&id))
            .unwrap_or_else(|| panic!("no {id} line"));
        let new_on_thread = lines
            .iter()
            .position(|(t, l)| t == thread && l.contains(&format!("version {UPGRADE_VERSION}")));
        assert!(
            new_on_thread.is_some_and(|n| n < at),
            "inflight-{i}: its worker ran the new module before it answered"
        );
        let old_done = format!("cognigy-enrich {}: root context", build_info::VERSION);
        let old_done_on_thread = lines
            .iter()
            .enumerate()
            .skip(new_on_thread.unwrap_or(0))
            .find(|(_, (t, l))| t == thread && l.contains(&old_done) && l.contains(" done "))
            .map(|(d, _)| d);
        assert!(
            old_done_on_thread.is_some_and(|d| d > at),
            "thread {thread}: the old root context ended after inflight-{i} answered"
        );
    }
    let tokens_after = mocks.request_count(Service::Token);
    println!(
        "upgrade: new module running {} ms after the push; {} of {} old root contexts ended while requests were held on the old VM; held requests answered 200 after {} ms; token fetches across the upgrade: {}",
        switched.as_millis(),
        done_while_held,
        roots_live,
        longest.as_millis(),
        tokens_after - tokens_before
    );
    assert_eq!(
        tokens_after, tokens_before,
        "same layout: the new module reads the token"
    );

    let report = load.finish();
    assert_clean(
        &report,
        "load through 10 pushes, a refused push and an upgrade",
    );
    println!(
        "settings visible after their push (ms): {:?}",
        visible_after
            .iter()
            .map(Duration::as_millis)
            .collect::<Vec<_>>()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Where the listener of an Envoy started from [`render_bootstrap`] is, for the next epoch.
fn bootstrap_on_port(mocks: &Mocks, plugin_config: &str, port: u16) -> String {
    let yaml = render_bootstrap(
        mocks,
        &EnvoyOptions {
            plugin_config: plugin_config.to_owned(),
            ..EnvoyOptions::default()
        },
    );
    // Admin comes first in the file, then the listener: the listener keeps its port.
    let (at, _) = yaml
        .match_indices("port_value: 0 ")
        .nth(1)
        .expect("the listener's port");
    format!(
        "{}port_value: {port} {}",
        &yaml[..at],
        &yaml[at + "port_value: 0 ".len()..]
    )
}

/// Removes the shared-memory file hot restart made for `base_id` (Envoy leaves it when killed,
/// which is how the harness stops it), also when the test fails. Declared before the Envoys, so
/// it runs after they are gone.
struct ShmCleanup(u32);

impl Drop for ShmCleanup {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(format!("/dev/shm/envoy_shared_memory_{}", self.0 * 10));
    }
}

#[test]
fn hot_restart_under_load() {
    const DRAIN_S: u64 = 3;
    const PARENT_SHUTDOWN_S: u64 = 6;
    let config = r#"{"deadlineMs": 4500, "services": {"customerProfile": {"cache": {"ttlMs": 30000, "staleIfErrorMs": 300000}}}}"#;
    let mocks = Mocks::start(MockConfig::default()).unwrap();
    mocks.set_recording(false);
    let base_id = HotRestart::random_base_id();
    let _shm = ShmCleanup(base_id);
    let args = vec![
        "--drain-time-s".to_owned(),
        DRAIN_S.to_string(),
        "--parent-shutdown-time-s".to_owned(),
        PARENT_SHUTDOWN_S.to_string(),
    ];
    let mut parent = Envoy::start(
        &mocks,
        EnvoyOptions {
            plugin_config: config.to_owned(),
            hot_restart: Some(HotRestart { base_id, epoch: 0 }),
            extra_args: args.clone(),
            ..EnvoyOptions::default()
        },
    );
    let load = start_load(
        &parent,
        Duration::from_secs(60),
        load::enrich_ok(LOAD_CUSTOMER),
    );
    assert!(load.wait_for_more(400, 30), "the load is flowing");
    assert_eq!(mocks.request_count(Service::Token), 1);

    let started = Instant::now();
    let child = Envoy::start(
        &mocks,
        EnvoyOptions {
            bootstrap: Some(bootstrap_on_port(&mocks, config, parent.port)),
            hot_restart: Some(HotRestart { base_id, epoch: 1 }),
            extra_args: args,
            ..EnvoyOptions::default()
        },
    );
    let child_ready = started.elapsed();
    assert_eq!(child.port, parent.port, "the child took over the listener");
    // The parent drains its connections (HTTP/1.1: `Connection: close` on an answer, with a
    // probability rising over the drain time) and exits at the parent shutdown time.
    // The child runs its own admin; the parent's was shut down when the child started.
    assert_eq!(parent.admin("/ready").0, 0, "the parent's admin is closed");
    let bound = Instant::now() + Duration::from_secs(PARENT_SHUTDOWN_S + 60);
    while parent.is_running() {
        assert!(Instant::now() < bound, "the parent did not exit");
        std::thread::sleep(Duration::from_millis(50));
    }
    let parent_exit = started.elapsed();
    assert!(
        load.wait_for_more(400, 30),
        "the load goes on against the child"
    );
    let report = load.finish();
    assert_clean(&report, "load through a hot restart");
    let tokens = mocks.request_count(Service::Token);
    let since = |t: &Instant| t.saturating_duration_since(started).as_millis();
    let (first_close, last_close) = (
        report.close_times.first().map(since),
        report.close_times.last().map(since),
    );
    println!(
        "hot restart: child ready after {} ms; parent closed the load's {} connections between {first_close:?} and {last_close:?} ms; parent exited after {} ms (drain-time-s {DRAIN_S}, parent-shutdown-time-s {PARENT_SHUTDOWN_S}); token fetches by the two processes: {tokens}; the child's token_fetch.ok (counters carry over from the parent): {}",
        child_ready.as_millis(),
        report.connection_closes,
        parent_exit.as_millis(),
        child.stat("wasmcustom.cognigy_enrich.token_fetch.ok"),
    );
    // Every keep-alive connection of the load was on the parent and was closed by its drain,
    // within the drain time after the child took over, before the parent exited.
    assert!(
        report.connection_closes >= CONNECTIONS,
        "{}",
        report.summary()
    );
    // The bound has 2 s of margin over the drain time for a stalled, busy machine; the parent's
    // exit (3 s later still) would close them otherwise.
    let drain_bound = child_ready + Duration::from_secs(DRAIN_S + 2);
    assert!(
        last_close.is_some_and(|l| l <= drain_bound.as_millis() && l < parent_exit.as_millis()),
        "connections closed by the drain, not by the exit: {last_close:?} ms"
    );
    // A new process has new shared data: the child fetches its own token, once.
    assert_eq!(tokens, 2);
    assert_eq!(child.stat("wasmcustom.cognigy_enrich.token_fetch.ok"), 2);
}
