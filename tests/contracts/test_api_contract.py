"""openapi/enrich.openapi.yaml: a valid OpenAPI 3.1 document, in step with the code's validation
rules and the README's error table, and true of the running filter: schemathesis sends generated
requests to the demo stack (the release .wasm in the pip Envoy, in front of the mocks).

- negative run: every request the spec marks invalid must be refused with a 4xx, never a 5xx
  (custom check in st_hooks.py) and never accepted (negative_data_rejection);
- positive run: every answer's status, content type, headers and body are the documented ones
  (a valid request for a customer the mocks do not know is a documented 502).
Bounded: a fixed number of examples per phase, a fixed seed, and a hard timeout."""

import os
import re
import subprocess

from openapi_spec_validator import validate

from helpers import ROOT, load_yaml

SPEC_PATH = ROOT / "openapi/enrich.openapi.yaml"
SPEC = load_yaml(SPEC_PATH)
OP = SPEC["paths"]["/api/v1/agent-assist/enrich"]["post"]
SCHEMATHESIS = ROOT / ".venv/bin/schemathesis"
MAX_EXAMPLES = "100"
TIMEOUT_S = 300


def test_document_is_valid_openapi_3_1():
    assert SPEC["openapi"].startswith("3.1.")
    validate(SPEC)


def rust_const(path, name):
    m = re.search(rf"pub const {name}: [^=]+= (.+?);", (ROOT / path).read_text())
    assert m, f"{name} not found in {path}"
    return m.group(1)


def test_request_schema_follows_the_validation_code():
    req = SPEC["components"]["schemas"]["EnrichRequest"]
    props = req["properties"]
    assert set(req["required"]) == {"sessionId", "customerNumber", "intent"}
    text_max = int(rust_const("src/payload.rs", "MAX_TEXT_CHARS"))
    cn_max = int(rust_const("src/payload.rs", "MAX_CUSTOMER_NUMBER_CHARS"))
    pattern = rust_const("src/config/mod.rs", "DEFAULT_CUSTOMER_PATTERN").strip('"')
    for field in ("sessionId", "intent"):
        assert (props[field]["minLength"], props[field]["maxLength"]) == (1, text_max)
    cn = props["customerNumber"]
    assert (cn["minLength"], cn["maxLength"], cn["pattern"]) == (1, cn_max, pattern)
    assert set(props["variables"]["type"]) == {"object", "null"}
    assert req["additionalProperties"] is True  # other keys are ignored
    # Every error type the validation reports is listed.
    kinds = set(re.findall(r'problem\(\s*[^,]+,\s*"([a-z_]+)"', (ROOT / "src/payload.rs").read_text()))
    error_item = SPEC["components"]["schemas"]["ValidationError"]["properties"]["errors"]["items"]
    assert kinds and kinds <= set(error_item["properties"]["type"]["enum"]), kinds


def test_every_status_in_the_readme_is_documented():
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## The HTTP contract"):]
    section = section[: section.index("\n## ", 5)]
    statuses = set(re.findall(r"^\| (\d{3})\b", section, re.M))
    assert {"401", "405", "413", "415", "422", "500", "502", "504"} <= statuses
    assert statuses <= set(OP["responses"]), statuses - set(OP["responses"])
    assert {"200", "429"} <= set(OP["responses"])
    for status, resp in OP["responses"].items():
        if status not in ("200", "503"):
            assert resp["content"]["application/json"]["schema"]["$ref"].endswith(("/Error", "/ValidationError"))


def schemathesis(stack, tmp_path, mode, checks):
    env = dict(os.environ, SCHEMATHESIS_HOOKS="st_hooks", PYTHONPATH=str(ROOT / "tests/contracts"))
    cmd = [
        str(SCHEMATHESIS), "run", str(SPEC_PATH),
        "--url", stack.base_url,
        "--mode", mode,
        "--checks", checks,
        "--max-examples", MAX_EXAMPLES,
        "--seed", "20261124",
        "--workers", "1",
        "--request-timeout", "10",
        "--generation-database", "none",
        "--generation-with-security-parameters", "false",
        "--header", "Authorization: Bearer demo-webhook-token",
        "--no-color",
    ]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_S, env=env, cwd=tmp_path)
    print(" ".join(cmd))
    print(r.stdout[-6000:])
    assert r.returncode == 0, r.stdout[-6000:] + r.stderr[-2000:]
    assert re.search(r"Test cases:\s+\d+ generated", r.stdout), r.stdout[-2000:]


def test_invalid_requests_are_refused_never_5xx(stack, tmp_path):
    schemathesis(stack, tmp_path, "negative", "invalid_request_not_a_server_error,negative_data_rejection")


def test_answers_match_the_spec(stack, tmp_path):
    schemathesis(
        stack, tmp_path, "positive",
        "status_code_conformance,content_type_conformance,response_headers_conformance,"
        "response_schema_conformance,unsupported_method",
    )


# answerMode "always200": the same runs against a stack in that mode. Every answer is a 200, so
# refusals are read from the envelope (`ok: false`, `x-enrich-status`) instead of the HTTP
# status, and `unsupported_method` (which expects a 405) is left out: another method gets the
# envelope with status 405 (tests/e2e_answers.rs).
def test_always200_invalid_requests_are_refused_in_the_envelope(stack_always200, tmp_path):
    schemathesis(stack_always200, tmp_path, "negative",
                 "invalid_request_not_a_server_error,invalid_request_refused_in_envelope")


def test_always200_answers_match_the_spec(stack_always200, tmp_path):
    schemathesis(
        stack_always200, tmp_path, "positive",
        "status_code_conformance,content_type_conformance,response_headers_conformance,"
        "response_schema_conformance",
    )


def test_always200_shapes_are_documented():
    schemas = SPEC["components"]["schemas"]
    ok200 = OP["responses"]["200"]
    refs = {s["$ref"].rsplit("/", 1)[1] for s in ok200["content"]["application/json"]["schema"]["oneOf"]}
    assert refs == {"EnrichResponse", "OkResponse", "FailureEnvelope"}
    assert "x-enrich-status" in ok200["headers"]
    env = schemas["FailureEnvelope"]
    assert env["required"] == ["ok", "status", "detail", "customerProfile", "recentOrders", "openTickets",
                               "enrichedPromptContext"]
    # Every status the filter or production.yaml's mappers put in an envelope is listed.
    mapped = set(int(s) for s in re.findall(r'"ok":false,"status":(\d{3})', (ROOT / "envoy/production.yaml").read_text()))
    filter_statuses = {401, 405, 413, 415, 422, 500, 502, 504}
    assert mapped and (mapped | filter_statuses) <= set(env["properties"]["status"]["enum"])
    assert set(schemas["Truncated"]["items"]["enum"]) == {"recentOrders", "openTickets"}
    assert "truncated" in schemas["EnrichResponse"]["properties"]
