//! Starts the pip-installed Envoy with the demo bootstrap, re-pointed at test ports.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{Mocks, Service};

/// The plugin configuration line of envoy/envoy.yaml, which tests replace with their own (the
/// default, [`EnvoyOptions::default`], has the cache off so upstream counts are predictable).
pub const DEMO_PLUGIN_CONFIG: &str = r#"{"deadlineMs": 4500, "serverTiming": true, "services": {"customerProfile": {"cache": {"ttlMs": 30000, "staleIfErrorMs": 300000}}}, "copilot": {"identity": true, "card": true}, "mcp": {"enabled": true}}"#;

pub struct EnvoyOptions {
    /// The plugin configuration JSON (one line).
    pub plugin_config: String,
    pub concurrency: u32,
    /// Environment of the Envoy process; `None` values are left unset.
    pub env: Vec<(&'static str, Option<String>)>,
    /// Extra text replacements applied to the bootstrap after the port rewiring.
    pub patches: Vec<(String, String)>,
    /// Envoy's `--log-level` (`info` unless a test needs more).
    pub log_level: &'static str,
    /// More command-line arguments, e.g. `--component-log-level wasm:trace`.
    pub extra_args: Vec<String>,
    /// A bootstrap to run as is, instead of the demo's re-pointed one (built by the test, e.g.
    /// with [`render_bootstrap`] and changes of its own).
    pub bootstrap: Option<String>,
    /// Run with hot restart on (`--base-id`, `--restart-epoch`) instead of
    /// `--disable-hot-restart`.
    pub hot_restart: Option<HotRestart>,
}

/// Hot-restart identity of an Envoy process: epoch 1 with the same base id takes over from
/// epoch 0.
#[derive(Debug, Clone, Copy)]
pub struct HotRestart {
    pub base_id: u32,
    pub epoch: u32,
}

impl HotRestart {
    /// A base id no other Envoy on the machine is likely to use (hot restart's shared memory and
    /// domain sockets are named after it).
    pub fn random_base_id() -> u32 {
        use std::hash::{BuildHasher, Hasher};
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u32(std::process::id());
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        // Envoy multiplies the base id by 10 for its socket names; stay well inside u32.
        1000 + (h.finish() % 100_000_000) as u32
    }
}

impl Default for EnvoyOptions {
    fn default() -> Self {
        EnvoyOptions {
            plugin_config: r#"{"deadlineMs": 4500}"#.to_owned(),
            concurrency: 2,
            env: vec![
                ("ENRICH_CLIENT_ID", Some("cognigy-proxy-client".to_owned())),
                ("ENRICH_CLIENT_SECRET", Some("proxy-secret-key".to_owned())),
                (
                    "ENRICH_WEBHOOK_TOKENS",
                    Some("demo-webhook-token,rotated-token".to_owned()),
                ),
            ],
            patches: Vec::new(),
            log_level: "info",
            extra_args: Vec::new(),
            bootstrap: None,
            hot_restart: None,
        }
    }
}

pub struct Envoy {
    child: Child,
    pub port: u16,
    pub admin_port: u16,
    pub dir: PathBuf,
    pub log_path: PathBuf,
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn envoy_bin() -> PathBuf {
    std::env::var_os("ENVOY_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join(".venv/bin/envoy"))
}

pub fn wasm_path() -> PathBuf {
    let p = repo_root().join("target/wasm32-wasip1/release/cognigy_enrich.wasm");
    assert!(
        p.exists(),
        "{} missing: run `make test` (it builds the filter first)",
        p.display()
    );
    p
}

/// The demo bootstrap with listener and admin on port 0, clusters on the mocks' ports, the wasm
/// by absolute path and the given plugin configuration.
pub fn render_bootstrap(mocks: &Mocks, opts: &EnvoyOptions) -> String {
    let yaml = std::fs::read_to_string(repo_root().join("envoy/envoy.yaml"))
        .expect("read envoy/envoy.yaml");
    rewire(yaml, mocks, opts, true)
}

/// Another shipped bootstrap (e.g. `envoy/envoy-jwt.yaml`) re-pointed the same way; it keeps its
/// own plugin configuration (change it with `patches`). Run it with `bootstrap: Some(..)`.
pub fn render_shipped_bootstrap(mocks: &Mocks, opts: &EnvoyOptions, file: &str) -> String {
    let yaml = std::fs::read_to_string(repo_root().join(file))
        .unwrap_or_else(|e| panic!("read {file}: {e}"));
    rewire(yaml, mocks, opts, false)
}

fn rewire(mut yaml: String, mocks: &Mocks, opts: &EnvoyOptions, demo_plugin: bool) -> String {
    let replace = |yaml: &mut String, from: &str, to: &str| {
        assert!(yaml.contains(from), "bootstrap has no {from:?}");
        *yaml = yaml.replace(from, to);
    };
    replace(&mut yaml, "port_value: 10000", "port_value: 0");
    replace(&mut yaml, "port_value: 9901", "port_value: 0");
    for (port, service) in [
        (9001, Service::Token),
        (9002, Service::Profile),
        (9003, Service::Orders),
        (9004, Service::Tickets),
    ] {
        replace(
            &mut yaml,
            &format!("port_value: {port} "),
            &format!("port_value: {} ", mocks.port(service)),
        );
    }
    replace(
        &mut yaml,
        "filename: target/wasm32-wasip1/release/cognigy_enrich.wasm",
        &format!("filename: {}", wasm_path().display()),
    );
    if demo_plugin {
        replace(&mut yaml, DEMO_PLUGIN_CONFIG, &opts.plugin_config);
    }
    for (from, to) in &opts.patches {
        replace(&mut yaml, from, to);
    }
    yaml
}

fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(5))
        .build();
    match agent.get(&format!("http://127.0.0.1:{port}{path}")).call() {
        Ok(r) => Some((r.status(), r.into_string().ok()?)),
        Err(ureq::Error::Status(code, r)) => Some((code, r.into_string().unwrap_or_default())),
        Err(_) => None,
    }
}

impl Envoy {
    pub fn start(mocks: &Mocks, opts: EnvoyOptions) -> Envoy {
        match Self::try_start(mocks, &opts) {
            Ok(e) => e,
            Err((msg, log)) => panic!("Envoy did not start: {msg}\n--- envoy log ---\n{log}"),
        }
    }

    /// Starts Envoy; on failure returns why and its log (tests of refused configurations use it).
    pub fn try_start(mocks: &Mocks, opts: &EnvoyOptions) -> Result<Envoy, (String, String)> {
        let dir = tempdir();
        let config = dir.join("envoy.yaml");
        let yaml = match &opts.bootstrap {
            Some(yaml) => yaml.clone(),
            None => render_bootstrap(mocks, opts),
        };
        std::fs::write(&config, yaml).expect("write bootstrap");
        let log_path = dir.join("envoy.log");
        let admin_path = dir.join("admin.txt");
        let mut cmd = Command::new(envoy_bin());
        cmd.arg("-c")
            .arg(&config)
            .args(["--concurrency", &opts.concurrency.to_string()])
            .args(match opts.hot_restart {
                Some(h) => vec![
                    "--base-id".to_owned(),
                    h.base_id.to_string(),
                    "--restart-epoch".to_owned(),
                    h.epoch.to_string(),
                ],
                None => vec!["--disable-hot-restart".to_owned()],
            })
            .args(["--log-level", opts.log_level])
            .args(&opts.extra_args)
            .arg("--admin-address-path")
            .arg(&admin_path)
            .args(["--file-flush-interval-msec", "100"])
            .arg("--log-path")
            .arg(&log_path)
            .current_dir(repo_root())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        for (k, v) in &opts.env {
            match v {
                Some(v) => cmd.env(k, v),
                None => cmd.env_remove(k),
            };
        }
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {}: {e} (run `make test`)", envoy_bin().display()));
        let mut envoy = Envoy {
            child,
            port: 0,
            admin_port: 0,
            dir,
            log_path,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = envoy.child.try_wait() {
                return Err((format!("exited with {status}"), envoy.log()));
            }
            if envoy.admin_port == 0 {
                if let Ok(addr) = std::fs::read_to_string(&admin_path) {
                    envoy.admin_port = addr
                        .trim()
                        .rsplit(':')
                        .next()
                        .and_then(|p| p.parse().ok())
                        .unwrap_or(0);
                }
            }
            if envoy.admin_port != 0 && envoy.port == 0 {
                if let Some((200, body)) = http_get(envoy.admin_port, "/listeners?format=json") {
                    envoy.port = listener_port(&body).unwrap_or(0);
                }
            }
            if envoy.port != 0 && matches!(http_get(envoy.admin_port, "/ready"), Some((200, _))) {
                return Ok(envoy);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(("not ready after 60 s".to_owned(), envoy.log()))
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn admin(&self, path: &str) -> (u16, String) {
        http_get(self.admin_port, path).unwrap_or((0, String::new()))
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// The log once `ready` holds for it (Envoy writes its log file lazily), or after `secs`.
    pub fn log_when(&self, secs: u64, ready: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let log = self.log();
            if ready(&log) || Instant::now() >= deadline {
                return log;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The log once it holds every one of `lines`; panics with the log if it does not within
    /// `secs`. Envoy writes its log file lazily (flushed every 100 ms here), so a test that checks
    /// something is absent from the log first waits for lines it knows are there, e.g. the
    /// filter's `[<request id>] enrich <outcome> status=<status>` line of its last request.
    pub fn log_with(&self, secs: u64, lines: &[&str]) -> String {
        let log = self.log_when(secs, |l| lines.iter().all(|line| l.contains(line)));
        let missing: Vec<&&str> = lines.iter().filter(|line| !log.contains(*line)).collect();
        assert!(
            missing.is_empty(),
            "after {secs} s the Envoy log still lacks {missing:?}:\n{log}"
        );
        log
    }

    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Resident set size of the Envoy process, in KiB (`VmRSS` of /proc/<pid>/status).
    pub fn rss_kib(&self) -> u64 {
        read_file(Path::new(&format!("/proc/{}/status", self.pid())))
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }

    /// Waits until `name` (see [`Envoy::stat`]) is at least `at_least`, at most `secs`; its
    /// last value.
    pub fn wait_stat(&self, name: &str, at_least: u64, secs: u64) -> u64 {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let v = self.stat(name);
            if v >= at_least || Instant::now() >= deadline {
                return v;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Value of a counter or gauge from `/stats`, 0 when absent.
    pub fn stat(&self, name: &str) -> u64 {
        let (_, body) = self.admin(&format!("/stats?filter=^{name}$"));
        body.lines()
            .filter_map(|l| l.split_once(": "))
            .find(|(k, _)| *k == name)
            .and_then(|(_, v)| v.trim().parse().ok())
            .unwrap_or(0)
    }
}

fn listener_port(json: &str) -> Option<u16> {
    let v: serde_json::Value = serde_json::from_str(json).ok()?;
    let statuses = v.get("listener_statuses")?.as_array()?;
    statuses
        .iter()
        .find_map(|s| {
            s.pointer("/local_address/socket_address/port_value")?
                .as_u64()
        })
        .and_then(|p| u16::try_from(p).ok())
}

fn tempdir() -> PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "cognigy-enrich-e2e-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

impl Drop for Envoy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

pub fn read_file(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_default()
}
