// The MCP endpoint through the official MCP TypeScript SDK (@modelcontextprotocol/sdk, pinned in
// package.json / package-lock.json), as a Node MCP host uses it. Run by tests/mcp_clients.rs:
//   node check.mjs --url U --failing-url F --enrich-url E --token T
// Every check throws on a mismatch; one line per passed check; exit code 1 on the first failure.
import assert from "node:assert/strict";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const TOOL = "get_customer_context";
const CUSTOMER = "CUST-992847";

const args = {};
for (let i = 2; i < process.argv.length; i += 2) {
  args[process.argv[i].replace(/^--/, "")] = process.argv[i + 1];
}
for (const key of ["url", "failing-url", "enrich-url", "token"]) {
  assert.ok(args[key], `--${key} is required`);
}

function ok(name) {
  console.log(`typescript sdk: ok - ${name}`);
}

async function connect(url, token) {
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
  });
  const client = new Client({ name: "cognigy-enrich-check", version: "0.0.0" });
  await client.connect(transport);
  return client;
}

async function main() {
  const client = await connect(args.url, args.token);
  assert.equal(client.getServerVersion()?.name, "cognigy-enrich");
  assert.ok(client.getInstructions()?.includes(TOOL));
  assert.deepEqual(client.getServerCapabilities()?.tools, { listChanged: false });
  ok("initialized");

  const { tools } = await client.listTools();
  assert.deepEqual(tools.map((t) => t.name), [TOOL]);
  assert.deepEqual(tools[0].inputSchema.required, ["customerNumber"]);
  assert.equal(tools[0].annotations?.readOnlyHint, true);
  ok("lists the one tool");

  // The SDK validates structuredContent against the tool's outputSchema (ajv) before returning.
  const result = await client.callTool({
    name: TOOL,
    arguments: { customerNumber: CUSTOMER, intent: "order_status" },
  });
  assert.equal(result.isError, false);
  const reply = await fetch(args["enrich-url"], {
    method: "POST",
    headers: { Authorization: `Bearer ${args.token}`, "Content-Type": "application/json" },
    body: JSON.stringify({ sessionId: "ts-check", customerNumber: CUSTOMER, intent: "order_status" }),
  });
  assert.equal(reply.status, 200);
  const expected = await reply.json();
  assert.deepEqual(result.structuredContent, expected);
  assert.deepEqual(result.content[0], { type: "text", text: expected.enrichedPromptContext });
  assert.deepEqual(JSON.parse(result.content[1].text), expected);
  ok("tool result equals the enrich answer and validates against outputSchema");

  const bad = await client.callTool({ name: TOOL, arguments: { customerNumber: "a b" } });
  assert.equal(bad.isError, true);
  assert.match(bad.content[0].text, /customerNumber/);
  ok("bad arguments (2025-11-25) are an isError result naming the field");
  await client.close();

  const failing = await connect(args["failing-url"], args.token);
  await failing.listTools();
  const failed = await failing.callTool({ name: TOOL, arguments: { customerNumber: CUSTOMER } });
  assert.equal(failed.isError, true);
  assert.match(failed.content[0].text, /Internal service unavailable/);
  ok("a failing service is an isError result with the detail");
  await failing.close();

  await assert.rejects(connect(args.url, "wrong-token"), (e) => /401|Not authenticated|Invalid webhook token/.test(String(e)));
  ok("a wrong token is refused");
}

main().catch((e) => {
  console.error(`typescript sdk: FAILED - ${e?.stack ?? e}`);
  process.exit(1);
});
