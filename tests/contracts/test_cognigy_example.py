"""examples/cognigy: the HTTP Request node's payload, with sample values for its CognigyScript,
is a valid request per the OpenAPI description, and the node sends what the filter needs."""

import json
import re

import jsonschema

from helpers import ROOT, load_yaml

NODE = json.loads((ROOT / "examples/cognigy/http-request-node.json").read_text())
SPEC = load_yaml(ROOT / "openapi/enrich.openapi.yaml")


def render(value, samples):
    if isinstance(value, dict):
        if "$cs" in value:
            return {"channel": "voice"} if value["$cs"]["type"] == "object" else "x"
        return {k: render(v, samples) for k, v in value.items()}
    if isinstance(value, str):
        return re.sub(r"\{\{(.*?)\}\}", lambda m: samples[m.group(1).strip()], value)
    return value


def test_payload_is_a_valid_enrich_request():
    body = render(NODE["payload"], NODE["sampleValues"])
    schema = dict(SPEC["components"]["schemas"]["EnrichRequest"])
    schema["$defs"] = {}
    jsonschema.Draft202012Validator(schema).validate(body)
    assert body["customerNumber"] == "CUST-992847"


def test_node_sends_json_to_the_enrich_path_with_a_token():
    assert NODE["method"] == "POST"
    assert NODE["url"].endswith("/api/v1/agent-assist/enrich")
    assert NODE["headers"]["Content-Type"] == "application/json"
    assert "X-API-Key" in NODE["authorization"]["type"]
    assert NODE["async"] is False
    assert "/api/v1/agent-assist/enrich" in SPEC["paths"]


def test_copilot_tile_example_binds_the_default_identity_rows_and_the_card():
    tiles = json.loads((ROOT / "examples/cognigy/copilot-tiles.json").read_text())
    schema = json.loads((ROOT / "schema/plugin-config.schema.json").read_text())
    rows = schema["properties"]["copilot"]["properties"]["identityRows"]["default"]
    store = NODE["contextStore"]
    bound = [(r["key"], r["value"]) for r in tiles["identityTile"]["customerData"]]
    assert bound == [(r["label"], f"{{{{context.{store}.identity['{r['label']}']}}}}") for r in rows]
    assert tiles["adaptiveCardTile"]["adaptiveCardJson"] == f"{{{{context.{store}.card}}}}"
    assert f"context.{store}.card" in tiles["codeNodeAlternative"]["code"]


def test_node_settings_follow_the_guide():
    # Retries belong to the filter (within its deadline); a node retry after a 504 passes 8 s.
    assert NODE["retryAttempts"] == 0
    # The node's timeout (ms) is above the filter's default deadline (4500 ms).
    assert NODE["timeoutMs"] > 4500
    # Logging that would write customer numbers into Cognigy's logs is off; TLS is verified.
    assert NODE["errorLogging"] == "off" and NODE["debugModeLogging"] is False
    assert NODE["allowInsecureSSL"] is False
    # Only what is needed goes in variables, never input.data whole.
    assert "input.data" not in json.dumps(NODE["payload"])
    assert "not an importable" in NODE["_comment"]
    guide = (ROOT / "examples/cognigy/README.md").read_text()
    for needle in ("Retry attempts", "Abort Flow Execution on Error", "Debug Mode Logging",
                   "answer.maxBytes", "fields", "Short-Term Memory Injection", "context.enrichment",
                   "not an importable", "always200"):
        assert needle in guide, needle
