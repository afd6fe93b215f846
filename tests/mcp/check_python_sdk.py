"""The MCP endpoint through the official MCP Python SDK, as an MCP host uses it.

Run by tests/mcp_clients.rs (`make mcp-clients`) once per pinned SDK (.venv-mcp1: the newest 1.x,
.venv-mcp2: the newest 2.x) against the real Envoy:

    python check_python_sdk.py --url http://127.0.0.1:P/mcp --failing-url http://127.0.0.1:Q/mcp \
        --enrich-url http://127.0.0.1:P/api/v1/agent-assist/enrich --token demo-webhook-token

`--failing-url` is a second stack whose customer-profile service is down. Every check raises on a
mismatch; the script prints one line per check and exits non-zero on the first failure.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.metadata
import json
import sys
import urllib.error
import urllib.request
from typing import Any

import jsonschema

SDK_VERSION = importlib.metadata.version("mcp")
MAJOR = int(SDK_VERSION.split(".")[0])
TOOL = "get_customer_context"
CUSTOMER = "CUST-992847"

if MAJOR >= 2:
    import httpx2 as httpx
    import mcp.client.session as session_module
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client
else:
    import httpx
    import mcp.types as session_module
    from mcp import ClientSession
    from mcp.client.streamable_http import streamablehttp_client


def check(name: str, ok: bool, detail: Any = "") -> None:
    if not ok:
        raise AssertionError(f"{name}: {detail}")
    print(f"mcp {SDK_VERSION}: ok - {name}", flush=True)


def dump(model: Any) -> dict:
    """A result as JSON with the wire's (camelCase) names, whatever the SDK's attribute style."""
    return model.model_dump(by_alias=True, mode="json", exclude_none=True)


def error_code(exc: BaseException) -> int | None:
    error = getattr(exc, "error", None)
    code = getattr(error, "code", None)
    return code if code is not None else getattr(exc, "code", None)


def flatten(exc: BaseException) -> list[BaseException]:
    out = [exc]
    for inner in getattr(exc, "exceptions", ()) or ():
        out.extend(flatten(inner))
    if exc.__cause__ is not None:
        out.extend(flatten(exc.__cause__))
    return out


class Wire:
    """What went over HTTP: (JSON-RPC method, MCP-Protocol-Version header, status) per POST."""

    def __init__(self) -> None:
        self.posts: list[tuple[str | None, str | None, int | None]] = []

    async def on_request(self, request: Any) -> None:
        if request.method != "POST":
            return
        try:
            method = json.loads(request.content).get("method")
        except (ValueError, AttributeError):
            method = None
        self.posts.append((method, request.headers.get("mcp-protocol-version"), None))

    async def on_response(self, response: Any) -> None:
        if response.request.method == "POST" and self.posts:
            method, version, _ = self.posts[-1]
            self.posts[-1] = (method, version, response.status_code)


@contextlib.asynccontextmanager
async def connect(url: str, token: str, wire: Wire | None = None, revision: str | None = None):
    """An initialized session (SDK 1.x) or client (SDK 2.x: `server/discover` first, then the
    `initialize` fallback), offering `revision` at initialize when given."""
    headers = {"Authorization": f"Bearer {token}"}
    hooks = {"request": [wire.on_request], "response": [wire.on_response]} if wire else {}
    name = "LATEST_HANDSHAKE_VERSION" if MAJOR >= 2 else "LATEST_PROTOCOL_VERSION"
    saved = getattr(session_module, name)
    if revision:
        setattr(session_module, name, revision)
    try:
        async with httpx.AsyncClient(headers=headers, event_hooks=hooks, timeout=30) as http:
            if MAJOR >= 2:
                transport = streamable_http_client(url, http_client=http)
                async with Client(transport, read_timeout_seconds=20) as client:
                    yield client, client.protocol_version, client.server_info, client.instructions
            else:
                from mcp.client.streamable_http import create_mcp_http_client  # noqa: F401

                def factory(headers=None, timeout=None, auth=None):
                    return httpx.AsyncClient(headers=headers, timeout=timeout, auth=auth, event_hooks=hooks)

                async with streamablehttp_client(url, headers=headers, httpx_client_factory=factory) as (r, w, _):
                    from datetime import timedelta

                    async with ClientSession(r, w, read_timeout_seconds=timedelta(seconds=20)) as session:
                        init = await session.initialize()
                        yield session, init.protocolVersion, init.serverInfo, init.instructions
    finally:
        setattr(session_module, name, saved)


def enrich(enrich_url: str, token: str) -> dict:
    body = json.dumps({"sessionId": "mcp-check", "customerNumber": CUSTOMER, "intent": "order_status"})
    req = urllib.request.Request(
        enrich_url,
        data=body.encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=20) as r:
        return json.loads(r.read())


async def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--failing-url", required=True)
    p.add_argument("--enrich-url", required=True)
    p.add_argument("--token", required=True)
    a = p.parse_args()

    wire = Wire()
    async with connect(a.url, a.token, wire) as (client, version, info, instructions):
        check("negotiated 2025-11-25", version == "2025-11-25", version)
        check("serverInfo names the filter", dump(info)["name"] == "cognigy-enrich", dump(info))
        check("instructions name the tool", TOOL in (instructions or ""), instructions)
        if MAJOR >= 2:
            # The 2.x client probes the 2026-07-28 era first; this server answers 400 and the
            # client falls back to the initialize handshake without its probe's header.
            check("2.x probed server/discover first, refused 400",
                  wire.posts[0] == ("server/discover", "2026-07-28", 400), wire.posts)
            check("then fell back to initialize", wire.posts[1][:2] == ("initialize", None), wire.posts)
        else:
            check("1.x opened with initialize", wire.posts[0] == ("initialize", None, 200), wire.posts)

        tools = dump(await client.list_tools())["tools"]
        check("one tool", [t["name"] for t in tools] == [TOOL], tools)
        tool = tools[0]
        for key in ("inputSchema", "outputSchema"):
            jsonschema.Draft202012Validator.check_schema(tool[key])
        check("input and output schemas are valid JSON Schema", True)
        check("annotations", tool["annotations"].get("readOnlyHint") is True
              and tool["annotations"].get("openWorldHint") is False, tool.get("annotations"))
        check("customerNumber is required", tool["inputSchema"]["required"] == ["customerNumber"], tool)

        result = dump(await client.call_tool(TOOL, {"customerNumber": CUSTOMER, "intent": "order_status"}))
        check("tool call succeeded", result.get("isError") is False, result)
        structured = result["structuredContent"]
        jsonschema.validate(structured, tool["outputSchema"])
        check("structuredContent validates against outputSchema", True)
        expected = enrich(a.enrich_url, a.token)
        check("structuredContent equals the enrich answer", structured == expected,
              json.dumps({"mcp": structured, "enrich": expected}))
        content = result["content"]
        check("first text block is the prompt line",
              content[0] == {"type": "text", "text": expected["enrichedPromptContext"]}, content)
        check("second text block is the JSON", json.loads(content[1]["text"]) == structured, content)

        bad = dump(await client.call_tool(TOOL, {"customerNumber": "../etc/passwd"}))
        check("2025-11-25: bad arguments are an isError result naming the field",
              bad.get("isError") is True and "customerNumber" in bad["content"][0]["text"], bad)

    async with connect(a.url, a.token, revision="2025-06-18") as (client, version, _, _):
        check("negotiated 2025-06-18 when offered", version == "2025-06-18", version)
        try:
            got = await client.call_tool(TOOL, {"customerNumber": "../etc/passwd"})
            raise AssertionError(f"2025-06-18: expected -32602, got {dump(got)}")
        except AssertionError:
            raise
        except Exception as e:  # the SDK's MCP error type differs between 1.x and 2.x
            check("2025-06-18: bad arguments are JSON-RPC -32602 naming the field",
                  error_code(e) == -32602 and "customerNumber" in str(e), repr(e))
        # Unknown tool: -32602 under every revision.
        try:
            got = await client.call_tool("no_such_tool", {})
            raise AssertionError(f"unknown tool: expected -32602, got {dump(got)}")
        except AssertionError:
            raise
        except Exception as e:
            check("unknown tool is -32602", error_code(e) == -32602, repr(e))

    async with connect(a.failing_url, a.token) as (client, _, _, _):
        await client.list_tools()
        failed = dump(await client.call_tool(TOOL, {"customerNumber": CUSTOMER}))
        text = failed["content"][0]["text"]
        check("a failing service is an isError result with the detail",
              failed.get("isError") is True and "Internal service unavailable" in text, failed)

    try:
        async with connect(a.url, "wrong-token") as _:
            raise AssertionError("a wrong token connected")
    except AssertionError:
        raise
    except BaseException as e:  # noqa: BLE001 - the SDKs raise an exception group here
        text = " | ".join(repr(x) for x in flatten(e))
        check("a wrong token is refused", "401" in text or "Not authenticated" in text
              or "Invalid webhook token" in text, text)
    req = urllib.request.Request(a.url, data=b"{}", headers={"Authorization": "Bearer wrong-token",
                                 "Content-Type": "application/json"}, method="POST")
    try:
        urllib.request.urlopen(req, timeout=10)
        raise AssertionError("wrong token accepted")
    except urllib.error.HTTPError as e:
        check("401 with WWW-Authenticate", e.code == 401 and e.headers.get("www-authenticate", "").startswith("Bearer"),
              (e.code, dict(e.headers)))


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except AssertionError as e:
        print(f"mcp {SDK_VERSION}: FAILED - {e}", file=sys.stderr, flush=True)
        sys.exit(1)
