"""Shared fixtures of the contract tests (run by `make contracts` with the project venv).

`stack` starts the mock upstreams binary and the pip-installed Envoy with the demo bootstrap
(envoy/envoy.yaml), re-pointed at free ports the way the Rust end-to-end harness does it.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WASM = ROOT / "target/wasm32-wasip1/release/cognigy_enrich.wasm"
MOCKS = ROOT / "target/release/mock-upstreams"
ENVOY = Path(os.environ.get("ENVOY_BIN", ROOT / ".venv/bin/envoy"))
WEBHOOK_TOKEN = "demo-webhook-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def replace_once(text: str, old: str, new: str) -> str:
    assert old in text, f"bootstrap has no {old!r}"
    return text.replace(old, new)


def wait_http(url: str, seconds: float, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"exited with {proc.returncode}:\n{log.read_text(errors='replace')[-4000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} not ready after {seconds} s:\n{log.read_text(errors='replace')[-4000:]}")


class Stack:
    def __init__(self, base_url: str, admin_url: str, envoy_log: Path):
        self.base_url = base_url
        self.admin_url = admin_url
        self.envoy_log = envoy_log


# The demo's plugin configuration line, and what `answer_mode` puts in front of its other fields.
DEMO_PLUGIN_START = '{"deadlineMs": 4500, '


@pytest.fixture(scope="session")
def stack(tmp_path_factory) -> Stack:
    yield from start_stack(tmp_path_factory, "status")


@pytest.fixture(scope="session")
def stack_always200(tmp_path_factory) -> Stack:
    """The same stack with `answerMode: "always200"` (every answer 200 with `ok`)."""
    yield from start_stack(tmp_path_factory, "always200")


def start_stack(tmp_path_factory, answer_mode: str):
    for need in (WASM, MOCKS, ENVOY):
        assert need.exists(), f"{need} missing: run `make contracts` (it builds what it needs)"
    tmp = tmp_path_factory.mktemp("stack")
    ports = {name: free_port() for name in ("token", "profile", "orders", "crm", "listener", "admin")}
    mocks_log = tmp / "mocks.log"
    envoy_log = tmp / "envoy.log"
    procs: list[subprocess.Popen] = []
    try:
        procs.append(
            subprocess.Popen(
                [str(MOCKS), "--token-port", str(ports["token"]), "--profile-port", str(ports["profile"]),
                 "--orders-port", str(ports["orders"]), "--crm-port", str(ports["crm"])],
                stdout=mocks_log.open("w"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            )
        )
        yaml = (ROOT / "envoy/envoy.yaml").read_text()
        yaml = replace_once(yaml, "port_value: 10000", f"port_value: {ports['listener']}")
        yaml = replace_once(yaml, "port_value: 9901", f"port_value: {ports['admin']}")
        for default, name in ((9001, "token"), (9002, "profile"), (9003, "orders"), (9004, "crm")):
            yaml = replace_once(yaml, f"port_value: {default} ", f"port_value: {ports[name]} ")
        yaml = replace_once(yaml, "filename: target/wasm32-wasip1/release/cognigy_enrich.wasm", f"filename: {WASM}")
        yaml = replace_once(yaml, DEMO_PLUGIN_START, f'{DEMO_PLUGIN_START}"answerMode": "{answer_mode}", ')
        config = tmp / "envoy.yaml"
        config.write_text(yaml)
        env = dict(os.environ, ENRICH_CLIENT_ID="cognigy-proxy-client", ENRICH_CLIENT_SECRET="proxy-secret-key",
                   ENRICH_WEBHOOK_TOKENS=WEBHOOK_TOKEN)
        envoy = subprocess.Popen(
            [str(ENVOY), "-c", str(config), "--concurrency", "2", "--disable-hot-restart",
             "--log-level", "info", "--log-path", str(envoy_log)],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
        )
        procs.append(envoy)
        admin = f"http://127.0.0.1:{ports['admin']}"
        wait_http(f"{admin}/ready", 60, envoy, envoy_log)
        base = f"http://127.0.0.1:{ports['listener']}"
        wait_http(f"{base}/healthz", 10, envoy, envoy_log)
        yield Stack(base, admin, envoy_log)
    finally:
        for p in reversed(procs):
            p.terminate()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
