"""Schemathesis extension loaded through SCHEMATHESIS_HOOKS by test_api_contract.py."""

import schemathesis


@schemathesis.check
def invalid_request_not_a_server_error(ctx, response, case):
    """A request the OpenAPI description marks invalid must never be answered 5xx.

    Schemathesis' own not_a_server_error applies to every case, and a negative run also sends
    some valid ones; a valid request for a customer the mocks do not know is a documented 502.
    """
    meta = case.meta
    if meta is None or not meta.generation.mode.is_negative:
        return None
    status = effective_status(response)
    if status >= 500:
        raise AssertionError(
            f"a request the spec marks invalid was answered {status}: {response.text[:300]}"
        )
    return None


def effective_status(response) -> int:
    """The status an answer stands for: with `answerMode: always200` every answer is a 200 and
    `x-enrich-status` carries the status; otherwise the HTTP status itself."""
    values = response.headers.get("x-enrich-status") or [response.status_code]  # lowercased, lists
    return int(values[0])


@schemathesis.check
def invalid_request_refused_in_envelope(ctx, response, case):
    """`answerMode: always200`: a request the spec marks invalid is answered 200, but with
    `"ok": false` and a 4xx in `x-enrich-status` and the body's `status` (the envelope's
    counterpart of schemathesis' negative_data_rejection)."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_negative:
        return None
    if case.path == "/mcp":
        # answerMode never applies to the MCP route: it refuses with a plain 4xx.
        if not 400 <= response.status_code < 500:
            raise AssertionError(f"/mcp answered {response.status_code} to an invalid request: {response.text[:300]}")
        return None
    status = effective_status(response)
    if response.status_code != 200:
        raise AssertionError(f"always200 answered HTTP {response.status_code}: {response.text[:300]}")
    body = response.json()
    if status < 400 or body.get("ok") is not False or body.get("status") != status:
        raise AssertionError(
            f"a request the spec marks invalid was not refused (x-enrich-status {status}): {response.text[:300]}"
        )
    return None
