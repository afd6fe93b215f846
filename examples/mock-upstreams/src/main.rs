//! `mock-upstreams`: runs the four mock services until SIGINT or SIGTERM.

use std::process::ExitCode;

use mock_upstreams::{ClientAuth, MockConfig, Mocks, Service, DEFAULT_PORTS};

const USAGE: &str = "\
usage: mock-upstreams [options]

  --token-port N      token service port        (default 9001)
  --profile-port N    profile service port      (default 9002)
  --orders-port N     orders service port       (default 9003)
  --crm-port N        CRM service port          (default 9004)
  --delay-ms N        latency added to profile, orders and CRM answers (default 0)
  --token-ttl N       lifetime of issued tokens in seconds (default 3600)
  --client-id S       accepted client id        (default cognigy-proxy-client)
  --client-secret S   accepted client secret    (default proxy-secret-key)
  --client-auth M     body | basic: where the token service wants the client credentials,
                      refusing the other way (default body)
  -h, --help          show this help";

fn main() -> ExitCode {
    let cfg = match parse_args(std::env::args().skip(1)) {
        Ok(Some(cfg)) => cfg,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("mock-upstreams: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let mocks = match Mocks::start(cfg) {
        Ok(mocks) => mocks,
        Err(e) => {
            eprintln!("mock-upstreams: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Sustained benchmark load would otherwise grow the capture log forever.
    mocks.set_recording(false);
    let wait_for_shutdown = match shutdown_signal() {
        Ok(wait) => wait,
        Err(e) => {
            eprintln!("mock-upstreams: cannot listen for signals: {e}");
            return ExitCode::FAILURE;
        }
    };
    let endpoints: Vec<String> = Service::ALL
        .iter()
        .map(|&s| format!("{s}=127.0.0.1:{}", mocks.port(s)))
        .collect();
    println!("mock-upstreams listening: {}", endpoints.join(" "));

    wait_for_shutdown();
    drop(mocks);
    ExitCode::SUCCESS
}

/// `Ok(None)` means help was requested.
fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Option<MockConfig>, String> {
    let mut cfg = MockConfig::default();
    let mut ports = DEFAULT_PORTS;
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => {
                (flag.to_owned(), Some(value.to_owned()))
            }
            _ => (arg, None),
        };
        if flag == "-h" || flag == "--help" {
            return Ok(None);
        }
        let mut value = || {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match flag.as_str() {
            "--token-port" => ports[0] = number(&flag, &value()?)?,
            "--profile-port" => ports[1] = number(&flag, &value()?)?,
            "--orders-port" => ports[2] = number(&flag, &value()?)?,
            "--crm-port" => ports[3] = number(&flag, &value()?)?,
            "--delay-ms" => cfg.delay_ms = number(&flag, &value()?)?,
            "--token-ttl" => cfg.token_ttl_secs = number(&flag, &value()?)?,
            "--client-id" => cfg.client_id = value()?,
            "--client-secret" => cfg.client_secret = value()?,
            "--client-auth" => {
                cfg.client_auth = match value()?.as_str() {
                    "body" => ClientAuth::Body,
                    "basic" => ClientAuth::Basic,
                    other => return Err(format!("--client-auth is body or basic, got {other:?}")),
                }
            }
            _ => return Err(format!("unknown argument {flag}")),
        }
    }
    cfg.ports = Some(ports);
    Ok(Some(cfg))
}

fn number<T: std::str::FromStr>(flag: &str, value: &str) -> Result<T, String> {
    value
        .parse()
        .map_err(|_| format!("{flag} expects a non-negative integer, got {value:?}"))
}

/// Installs SIGINT/SIGTERM handlers and returns a function that blocks until
/// one arrives. Installing happens before the ready line is printed, so a
/// supervisor that signals as soon as it reads that line still gets a clean
/// shutdown rather than the default abrupt exit.
#[cfg(unix)]
fn shutdown_signal() -> std::io::Result<impl FnOnce()> {
    use tokio::signal::unix::{signal, SignalKind};

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (mut interrupt, mut terminate) = {
        let _context = runtime.enter();
        (
            signal(SignalKind::interrupt())?,
            signal(SignalKind::terminate())?,
        )
    };
    Ok(move || {
        runtime.block_on(async move {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
        });
    })
}

/// Ctrl-C only: the platform has no SIGTERM.
#[cfg(not(unix))]
fn shutdown_signal() -> std::io::Result<impl FnOnce()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    Ok(move || {
        let _ = runtime.block_on(tokio::signal::ctrl_c());
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Option<MockConfig>, String> {
        parse_args(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn defaults_to_demo_ports_and_credentials() {
        let cfg = parse(&[]).unwrap().unwrap();
        assert_eq!(cfg.ports, Some(DEFAULT_PORTS));
        assert_eq!(cfg.client_id, "cognigy-proxy-client");
        assert_eq!(cfg.delay_ms, 0);
    }

    #[test]
    fn parses_every_flag() {
        let cfg = parse(&[
            "--token-port",
            "1",
            "--profile-port=2",
            "--orders-port",
            "3",
            "--crm-port",
            "4",
            "--delay-ms",
            "25",
            "--token-ttl",
            "60",
            "--client-id",
            "id",
            "--client-secret=s=x",
        ])
        .unwrap()
        .unwrap();
        assert_eq!(cfg.ports, Some([1, 2, 3, 4]));
        assert_eq!((cfg.delay_ms, cfg.token_ttl_secs), (25, 60));
        assert_eq!(
            (cfg.client_id.as_str(), cfg.client_secret.as_str()),
            ("id", "s=x")
        );
    }

    #[test]
    fn rejects_bad_input() {
        assert!(parse(&["--token-port"]).is_err());
        assert!(parse(&["--token-port", "70000"]).is_err());
        assert!(parse(&["--delay-ms", "-1"]).is_err());
        assert!(parse(&["--bogus"]).is_err());
        assert!(parse(&["--client-auth", "header"]).is_err());
        assert_eq!(
            parse(&["--client-auth", "basic"])
                .unwrap()
                .unwrap()
                .client_auth,
            ClientAuth::Basic
        );
        assert_eq!(parse(&["--help"]), Ok(None));
    }
}
