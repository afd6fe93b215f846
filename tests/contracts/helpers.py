"""Small helpers shared by the contract tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import jsonschema
import yaml

ROOT = Path(__file__).resolve().parents[2]
WASM_FILTER_TYPE = "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm"
SECRET_KEYS = {"ENRICH_CLIENT_ID", "ENRICH_CLIENT_SECRET", "ENRICH_WEBHOOK_TOKENS"}


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def load_yaml_docs(path: Path) -> list[Any]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d is not None]


def plugin_schema_validator() -> jsonschema.Draft202012Validator:
    schema = json.loads((ROOT / "schema/plugin-config.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


def walk(node: Any) -> Iterator[dict]:
    """Every mapping in a parsed YAML/JSON tree."""
    if isinstance(node, dict):
        yield node
        for v in node.values():
            yield from walk(v)
    elif isinstance(node, list):
        for v in node:
            yield from walk(v)


def wasm_filter_configs(tree: Any) -> list[dict]:
    """The `config` (PluginConfig) of every Wasm HTTP filter in an Envoy config tree."""
    return [
        m["config"]
        for m in walk(tree)
        if m.get("@type") == WASM_FILTER_TYPE and isinstance(m.get("config"), dict)
    ]


def plugin_json(wasm_config: dict) -> Any:
    """The plugin configuration JSON carried in a Wasm filter's `configuration.value`."""
    value = wasm_config.get("configuration", {}).get("value", "")
    return json.loads(value) if value.strip() else {}
