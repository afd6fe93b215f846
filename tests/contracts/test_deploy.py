"""deploy/: the Istio and Envoy Gateway examples wire the same secrets, image and stop-iteration
setting the filter needs (they cannot be applied here: no cluster)."""

import re

from helpers import ROOT, SECRET_KEYS, load_yaml_docs, wasm_filter_configs

DIGEST = re.compile(r"^[0-9a-f]{64}$")


def docs(rel):
    return load_yaml_docs(ROOT / "deploy" / rel)


def by_kind(rel, kind):
    found = [d for d in docs(rel) if d.get("kind") == kind]
    assert found, f"{rel} has no {kind}"
    return found


def test_istio_wasmplugin_passes_the_secrets_from_the_host():
    plugin = by_kind("istio/wasmplugin.yaml", "WasmPlugin")[0]["spec"]
    assert plugin["url"].startswith("oci://")
    assert DIGEST.match(plugin["sha256"])
    assert plugin["failStrategy"] == "FAIL_CLOSE"
    env = {e["name"]: e for e in plugin["vmConfig"]["env"]}
    assert set(env) == SECRET_KEYS
    assert all(e["valueFrom"] == "HOST" for e in env.values())
    secret = by_kind("istio/wasmplugin.yaml", "Secret")[0]
    assert set(secret["stringData"]) == SECRET_KEYS


def test_istio_gateway_gets_the_secrets_from_the_secret():
    deployment = by_kind("istio/gateway-env-patch.yaml", "Deployment")[0]
    env = deployment["spec"]["template"]["spec"]["containers"][0]["env"]
    assert {e["name"] for e in env} == SECRET_KEYS
    for e in env:
        assert e["valueFrom"]["secretKeyRef"] == {"name": "cognigy-enrich", "key": e["name"]}


def test_istio_envoyfilter_sets_stop_iteration_and_references_its_extension():
    f = by_kind("istio/envoyfilter-stop-iteration.yaml", "EnvoyFilter")[0]
    patches = f["spec"]["configPatches"]
    ext = next(p for p in patches if p["applyTo"] == "EXTENSION_CONFIG")
    http = next(p for p in patches if p["applyTo"] == "HTTP_FILTER")
    assert ext["patch"]["operation"] == "ADD"
    (config,) = wasm_filter_configs(ext)
    assert config["allow_on_headers_stop_iteration"] is True
    assert config["fail_open"] is False
    assert set(config["vm_config"]["environment_variables"]["host_env_keys"]) == SECRET_KEYS
    remote = config["vm_config"]["code"]["remote"]
    assert remote["http_uri"]["uri"].startswith("oci://") and DIGEST.match(remote["sha256"])
    assert http["patch"]["operation"] == "INSERT_BEFORE"
    assert http["match"]["listener"]["filterChain"]["filter"]["subFilter"]["name"] == "envoy.filters.http.router"
    assert http["patch"]["value"]["name"] == ext["patch"]["value"]["name"]


def test_envoy_gateway_policy_and_proxy_secrets():
    policy = by_kind("envoy-gateway/envoyextensionpolicy.yaml", "EnvoyExtensionPolicy")[0]["spec"]
    (wasm,) = policy["wasm"]
    assert wasm["rootID"] == "cognigy_enrich"
    assert wasm["failOpen"] is False
    assert wasm["code"]["type"] == "Image" and DIGEST.match(wasm["code"]["image"]["sha256"])
    assert set(wasm["env"]["hostKeys"]) == SECRET_KEYS
    route = by_kind("envoy-gateway/envoyextensionpolicy.yaml", "HTTPRoute")[0]
    assert policy["targetRefs"][0]["name"] == route["metadata"]["name"]
    paths = [m["path"]["value"] for r in route["spec"]["rules"] for m in r["matches"]]
    assert paths == ["/api/v1/agent-assist/enrich"]
    proxy = by_kind("envoy-gateway/envoyproxy-secrets.yaml", "EnvoyProxy")[0]
    env = proxy["spec"]["provider"]["kubernetes"]["envoyDeployment"]["container"]["env"]
    assert {e["name"] for e in env} == SECRET_KEYS
    patch = by_kind("envoy-gateway/envoypatchpolicy-stop-iteration.yaml", "EnvoyPatchPolicy")[0]
    ops = [p["operation"] for p in patch["spec"]["jsonPatches"]]
    assert any(o["path"].endswith("/allow_on_headers_stop_iteration") and o["value"] is True for o in ops)
