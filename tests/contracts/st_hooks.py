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
    if response.status_code >= 500:
        raise AssertionError(
            f"a request the spec marks invalid was answered {response.status_code}: {response.text[:300]}"
        )
    return None
