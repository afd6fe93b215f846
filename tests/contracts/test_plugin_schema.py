"""schema/plugin-config.schema.json: itself valid, its verdict on the shared examples (the Rust
test tests/contract_config_schema.rs checks src/config/ verdict on the same files), and every
shipped plugin configuration (envoy/*.yaml, deploy/**) valid against it."""

import json
import re

import pytest

from helpers import ROOT, load_yaml, load_yaml_docs, plugin_json, plugin_schema_validator, wasm_filter_configs

VALIDATOR = plugin_schema_validator()


def examples(name):
    data = json.loads((ROOT / f"schema/examples/{name}.json").read_text())
    return [pytest.param(e, id=e["name"]) for e in data]


@pytest.mark.parametrize("example", examples("valid"))
def test_valid_examples_pass_the_schema(example):
    errors = [e.message for e in VALIDATOR.iter_errors(example["config"])]
    assert not errors, errors


@pytest.mark.parametrize("example", examples("invalid"))
def test_invalid_examples_fail_the_schema(example):
    errors = list(VALIDATOR.iter_errors(example["config"]))
    assert errors, f"{example['name']}: the schema accepts {example['config']}"
    # The schema blames the field src/config/ names, or an object enclosing it (an unknown
    # or missing field is the enclosing object's error).
    # src/config/ names a list element `rows[0]`, jsonschema's path reads `rows.0`.
    field = re.sub(r"\[(\d+)\]", r".\1", example["field"])
    places = {".".join(str(p) for p in e.absolute_path) for e in errors}
    assert any(p in ("", field) or field.startswith(p + ".") for p in places), (field, places)


ENVOY_CONFIGS = sorted((ROOT / "envoy").glob("*.yaml"))


@pytest.mark.parametrize("path", ENVOY_CONFIGS, ids=lambda p: p.name)
def test_shipped_envoy_configs_have_a_valid_plugin_configuration(path):
    configs = wasm_filter_configs(load_yaml(path))
    assert configs, f"{path.name} has no Wasm filter"
    for config in configs:
        plugin = plugin_json(config)
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in VALIDATOR.iter_errors(plugin)]
        assert not errors, errors
        # What the filter needs from Envoy around its configuration.
        assert config.get("allow_on_headers_stop_iteration") is True
        # Fails closed, whichever way it is said.
        assert config.get("fail_open", False) is False
        assert config.get("failure_policy", "FAIL_CLOSED") in ("FAIL_CLOSED", "FAIL_RELOAD")
        keys = set(config["vm_config"]["environment_variables"]["host_env_keys"])
        assert keys == {"ENRICH_CLIENT_ID", "ENRICH_CLIENT_SECRET", "ENRICH_WEBHOOK_TOKENS"}


def test_deploy_manifests_carry_valid_plugin_configurations():
    found = 0
    for path in sorted((ROOT / "deploy").rglob("*.yaml")):
        for doc in load_yaml_docs(path):
            kind = doc.get("kind")
            spec = doc.get("spec", {})
            if kind == "WasmPlugin":
                plugins = [spec["pluginConfig"]]
            elif kind == "EnvoyExtensionPolicy":
                plugins = [w["config"] for w in spec["wasm"]]
            elif kind == "EnvoyFilter":
                plugins = [plugin_json(c) for c in wasm_filter_configs(doc)]
            else:
                continue
            for plugin in plugins:
                errors = [e.message for e in VALIDATOR.iter_errors(plugin)]
                assert not errors, (path.name, errors)
                found += 1
    assert found >= 3
