import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { z } from "zod";
import type { Wallet } from "../../client/index.js";
import { currentCharge } from "../../middleware/index.js";
import { registerBudgetedTool } from "../../middleware/mcp.js";
import {
  type Fixture,
  figures,
  fingerprints as fp,
  lines,
  startFixture,
  stores,
} from "./fixture.js";

/** A real McpServer and Client over a linked in-memory transport pair. */
async function connect(server: McpServer, sessionId?: string): Promise<Client> {
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  if (sessionId !== undefined) serverSide.sessionId = sessionId;
  const client = new Client({ name: "test-client", version: "1.0.0" });
  await Promise.all([server.connect(serverSide), client.connect(clientSide)]);
  return client;
}

const text = (result: unknown) =>
  ((result as CallToolResult).content[0] as { type: "text"; text: string }).text;

describe.each(stores)("MCP TypeScript SDK ($name store)", ({ open }) => {
  let f: Fixture;
  let wallet: Wallet;
  let server: McpServer;
  let client: Client | undefined;
  let ran: string[];

  beforeEach(async () => {
    f = await startFixture(open());
    wallet = await f.wallet(12, "mcp-run");
    server = new McpServer({ name: "paid-tools", version: "1.0.0" });
    ran = [];
  });
  afterEach(async () => {
    await client?.close();
    client = undefined;
    await server.close();
    await f.close();
  });

  const registerSearch = (
    behaviour: "ok" | "isError" | "throw" | "hang" | "nothing" = "ok",
    outputSchema = false,
  ) =>
    registerBudgetedTool(
      server,
      "search",
      {
        description: "Search the web",
        inputSchema: { query: z.string() },
        ...(outputSchema ? { outputSchema: { hits: z.array(z.string()) } } : {}),
      },
      { wallet, price: 5, metadata: { agent: "mcp-agent" } },
      async ({ query }, extra) => {
        ran.push(query);
        if (behaviour === "throw") throw new Error("index offline");
        // A callback that forgets to return: no CallToolResult at all.
        if (behaviour === "nothing") return undefined as unknown as CallToolResult;
        if (behaviour === "isError") {
          return { isError: true, content: [{ type: "text", text: "no such index" }] };
        }
        if (behaviour === "hang") {
          await new Promise((_, reject) =>
            extra.signal.addEventListener("abort", () => reject(extra.signal.reason)),
          );
        }
        const hits = [`${query} result`];
        return {
          content: [{ type: "text", text: `${hits[0]} via ${currentCharge()?.requestId}` }],
          ...(outputSchema ? { structuredContent: { hits } } : {}),
        };
      },
    );

  it("charges a tools/call from a real Client; without a session id each call gets a random request id", async () => {
    registerSearch();
    client = await connect(server);
    const result = await client.callTool({ name: "search", arguments: { query: "one" } });
    expect(result.isError).toBeUndefined();
    expect(text(result)).toMatch(/^one result via [0-9a-f-]{36}:authorize$/);
    expect(await figures(wallet)).toEqual({
      available: 7n,
      totalCredits: 5n,
      callCount: 1n,
      voidedHoldCredits: 0n,
      voidedHoldCount: 0n,
    });
    const [line] = await lines(wallet);
    expect(line).toMatchObject({ kind: "CAPTURE", amount: 5n, metadata: { agent: "mcp-agent" } });
    expect(line?.requestId).toMatch(/^[0-9a-f-]{36}:capture$/);
  });

  it("uses <tool>:<sessionId>:<JSON-RPC id>:<input fingerprint> when the transport has a session id", async () => {
    registerSearch();
    client = await connect(server, "session-7");
    await client.callTool({ name: "search", arguments: { query: "one" } });
    await client.callTool({ name: "search", arguments: { query: "two" } });
    // JSON-RPC ids: 0 was `initialize`, then one per request.
    expect((await lines(wallet)).map((l) => l.requestId)).toEqual([
      `search:session-7:1:${fp.queryOne}:capture`,
      `search:session-7:2:${fp.queryTwo}:capture`,
    ]);
  });

  it("a refusal answers isError with the message as text and the figures in structuredContent", async () => {
    registerSearch();
    client = await connect(server);
    await client.callTool({ name: "search", arguments: { query: "one" } });
    await client.callTool({ name: "search", arguments: { query: "two" } });
    const refused = await client.callTool({ name: "search", arguments: { query: "three" } });
    const figuresSent = {
      error: "PAYMENT_LIMIT_REACHED",
      wallet: "mcp-run",
      walletId: wallet.id,
      available: "2",
      price: "5",
      tool: "search",
    };
    expect(refused).toEqual({
      isError: true,
      content: [
        { type: "text", text: "PAYMENT_LIMIT_REACHED: mcp-run has 2 credits left; search costs 5" },
      ],
      structuredContent: figuresSent,
      _meta: { "tollgate/refusal": figuresSent },
    });
    expect(ran).toEqual(["one", "two"]);
    expect(await figures(wallet)).toMatchObject({ available: 2n, callCount: 2n });
  });

  it("a tool with an outputSchema gets the refusal figures in _meta, which the Client accepts", async () => {
    registerSearch("ok", true);
    client = await connect(server);
    await client.listTools(); // caches the output-schema validator, as a real client does
    const ok = await client.callTool({ name: "search", arguments: { query: "one" } });
    expect(ok.structuredContent).toEqual({ hits: ["one result"] });
    await client.callTool({ name: "search", arguments: { query: "two" } });
    const refused = await client.callTool({ name: "search", arguments: { query: "three" } });
    expect(refused.isError).toBe(true);
    expect(refused.structuredContent).toBeUndefined();
    expect(text(refused)).toBe("PAYMENT_LIMIT_REACHED: mcp-run has 2 credits left; search costs 5");
    expect(refused._meta).toMatchObject({ "tollgate/refusal": { available: "2", price: "5" } });
  });

  it("an isError result is a failed call: not charged", async () => {
    registerSearch("isError");
    client = await connect(server);
    const result = await client.callTool({ name: "search", arguments: { query: "q" } });
    expect(result.isError).toBe(true);
    expect(text(result)).toBe("no such index");
    expect(await figures(wallet)).toEqual({
      available: 12n,
      totalCredits: 0n,
      callCount: 0n,
      voidedHoldCredits: 5n,
      voidedHoldCount: 1n,
    });
  });

  it("a callback that returns no result is a failed call: the hold is voided, not left open", async () => {
    registerSearch("nothing");
    client = await connect(server);
    await client.callTool({ name: "search", arguments: { query: "q" } }).catch(() => undefined);
    expect(ran).toEqual(["q"]);
    expect(await wallet.refresh()).toMatchObject({ held: 0n, available: 12n });
    expect(await figures(wallet)).toEqual({
      available: 12n,
      totalCredits: 0n,
      callCount: 0n,
      voidedHoldCredits: 5n,
      voidedHoldCount: 1n,
    });
  });

  it("a throwing tool becomes the SDK's isError result and is not charged", async () => {
    registerSearch("throw");
    client = await connect(server);
    const result = await client.callTool({ name: "search", arguments: { query: "q" } });
    expect(result.isError).toBe(true);
    expect(text(result)).toBe("index offline");
    expect(await figures(wallet)).toMatchObject({
      available: 12n,
      callCount: 0n,
      voidedHoldCount: 1n,
    });
  });

  it("a request the client cancels (notifications/cancelled) voids the hold", async () => {
    registerSearch("hang");
    client = await connect(server);
    const controller = new AbortController();
    const call = client.callTool({ name: "search", arguments: { query: "q" } }, undefined, {
      signal: controller.signal,
    });
    await new Promise<void>((resolve) => {
      const poll = () => (ran.length > 0 ? resolve() : setTimeout(poll, 5));
      poll();
    });
    controller.abort("changed my mind");
    await expect(call).rejects.toThrow();
    // The cancellation reaches the server as a notification; wait for its void.
    for (let i = 0; i < 200 && (await figures(wallet)).voidedHoldCount === 0n; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(await figures(wallet)).toEqual({
      available: 12n,
      totalCredits: 0n,
      callCount: 0n,
      voidedHoldCredits: 5n,
      voidedHoldCount: 1n,
    });
  });
});
