//! The MCP endpoint through the real clients: the official MCP Python SDK in its newest 1.x and
//! 2.x (tests/mcp/check_python_sdk.py, each in its pinned venv) and the official TypeScript SDK
//! (tests/mcp/ts), against the release filter in a real Envoy. `make mcp-clients` installs the
//! clients (scripts/install-tools.sh mcp) and runs this file; it is not an `e2e_*` file so that
//! `make e2e` does not need them.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::path::Path;
use std::process::Command;

use support::envoy::repo_root;
use support::*;

const CONFIG: &str = r#"{"deadlineMs": 4500, "mcp": {"enabled": true}}"#;

/// Runs a client check; `Err` carries its whole output.
fn run(what: &str, program: &Path, args: &[String]) -> Result<String, String> {
    assert!(
        program.exists(),
        "{} missing: run `scripts/install-tools.sh mcp` (or `make mcp-clients`)",
        program.display()
    );
    let out = Command::new(program)
        .args(args)
        .current_dir(repo_root())
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run {}: {e}", program.display()));
    let text = format!(
        "--- {what} stdout ---\n{}--- {what} stderr ---\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() {
        Ok(text)
    } else {
        Err(text)
    }
}

#[test]
fn official_python_and_typescript_sdks() {
    let (_mocks, envoy) = stack(CONFIG);
    // A second stack whose customer-profile service is down: every enrichment fails there.
    let (failing_mocks, failing) = stack(CONFIG);
    failing_mocks.set_down(Service::Profile, true);

    let args = [
        "--url".to_owned(),
        envoy.url("/mcp"),
        "--failing-url".to_owned(),
        failing.url("/mcp"),
        "--enrich-url".to_owned(),
        envoy.url(ENRICH_PATH),
        "--token".to_owned(),
        WEBHOOK_TOKEN.to_owned(),
    ];
    let root = repo_root();
    let script = root.join("tests/mcp/check_python_sdk.py");
    let mut with_script = vec![script.display().to_string()];
    with_script.extend(args.iter().cloned());
    let ts_script = root.join("tests/mcp/ts/check.mjs");
    let mut with_ts = vec![ts_script.display().to_string()];
    with_ts.extend(args.iter().cloned());

    let results = [
        run(
            "python mcp 1.x",
            &root.join(".venv-mcp1/bin/python"),
            &with_script,
        ),
        run(
            "python mcp 2.x",
            &root.join(".venv-mcp2/bin/python"),
            &with_script,
        ),
        run("typescript sdk", Path::new("/usr/bin/env"), &{
            let mut a = vec!["node".to_owned()];
            a.extend(with_ts);
            a
        }),
    ];
    let mut failed = false;
    for r in &results {
        match r {
            Ok(text) => println!("{text}"),
            Err(text) => {
                failed = true;
                eprintln!("{text}");
            }
        }
    }
    assert!(!failed, "a client check failed (output above)");
    // What the clients did is what the filter counted: 2.x's refused `server/discover` probe
    // among the rejections, every tool call by outcome.
    assert!(envoy.stat("wasmcustom.cognigy_enrich.mcp.none.rejected") >= 1);
    assert!(envoy.stat("wasmcustom.cognigy_enrich.mcp.tools_call.ok") >= 3);
    assert!(envoy.stat("wasmcustom.cognigy_enrich.mcp.tools_call.tool_error") >= 3);
    assert!(failing.stat("wasmcustom.cognigy_enrich.mcp.tools_call.tool_error") >= 3);
}
