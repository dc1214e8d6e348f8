import { randomBytes } from "node:crypto";
import { tool } from "ai";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { z } from "zod";
import {
  createClient,
  InsufficientCreditsError,
  type TollgateClient,
  type Wallet,
} from "../../client/index.js";
import { type PaidApi, startPaidApi } from "../../examples/support/upstream.js";
import { budgetTool, walletExhausted } from "../../middleware/ai.js";
import {
  type BudgetRefusal,
  currentCharge,
  paidFetch,
  withBudget,
} from "../../middleware/index.js";
import { hashApiKey } from "../../server/auth/api-keys.js";
import { Catalog } from "../../server/catalog/catalog.js";
import { startTollgateServer, type TollgateServer } from "../../server/server.js";
import { type StoreUnderTest, stores } from "../rpc/stores.js";

/**
 * Tools budgeted with `gateway`: their paid calls go through tollgate's gateway (`paidFetch`),
 * which charges the catalog price to the tool's wallet with the agent's key; the middleware
 * charges nothing itself, and answers a 402 like its own refusals.
 */

const projectKey = "middleware-gateway-key-0123456789";
const secret = `sk-upstream-${randomBytes(12).toString("hex")}`;
const toolCall = (id: string) => ({ toolCallId: id, messages: [] });

describe.each(stores)("middleware through the gateway ($name store)", ({ open }) => {
  let opened: StoreUnderTest;
  let server: TollgateServer;
  let upstream: PaidApi;
  const clients: TollgateClient[] = [];
  let owner: TollgateClient;

  /** A 100-credit wallet, and its handle on a client whose agent key is bound to it. */
  async function agentWallet(budget = 100, name = "researcher"): Promise<Wallet> {
    const wallet = await owner.wallets.create({ name, budget });
    const { secret: agentSecret } = await owner.agentKeys.create({ wallet, services: ["search"] });
    const agent = createClient({
      address: server.address,
      apiKey: agentSecret,
      gatewayUrl: `http://127.0.0.1:${server.gatewayPort}`,
    });
    clients.push(agent);
    return agent.wallets.get(wallet.id);
  }

  beforeEach(async () => {
    opened = open();
    upstream = await startPaidApi(secret, (request, response) => {
      if (!request.url?.startsWith("/fail")) return false;
      response.writeHead(500).end("upstream broke");
      return true;
    });
    server = await startTollgateServer({
      store: opened.store,
      address: "127.0.0.1:0",
      gatewayAddress: "127.0.0.1:0",
      logLevel: "silent",
      apiKeys: [{ project: "mw", keySha256: hashApiKey(projectKey) }],
      catalog: Catalog.fromEntries(
        [
          {
            project: "mw",
            name: "search",
            upstream: upstream.url,
            price: { credits: 30 },
            auth: { secretEnv: "UPSTREAM_SECRET" },
          },
        ],
        { UPSTREAM_SECRET: secret },
      ),
    });
    owner = createClient({ address: server.address, apiKey: projectKey });
    clients.push(owner);
  });
  afterEach(async () => {
    for (const made of clients.splice(0)) made.close();
    await server.shutdown();
    await upstream.close();
    await opened.cleanup();
  });

  it("an ai tool pays per call through the gateway, and a 402 becomes PAYMENT_LIMIT_REACHED", async () => {
    const wallet = await agentWallet(100);
    const search = budgetTool(
      tool({
        inputSchema: z.object({ topic: z.string() }),
        execute: async ({ topic }) => {
          // Nothing is charged by the middleware: no credential to hand on.
          expect(currentCharge()).toBeUndefined();
          const response = await paidFetch(`/web_search?topic=${encodeURIComponent(topic)}`);
          return ((await response.json()) as { result: string }).result;
        },
      }),
      {
        wallet,
        gateway: "search",
        price: 30,
        toolName: "web_search",
        metadata: { agent: "researcher" },
      },
    );
    const execute = search.execute as (input: { topic: string }, o: object) => Promise<string>;
    const results = [];
    for (let i = 1; i <= 4; i++) results.push(await execute({ topic: `t${i}` }, toolCall(`c${i}`)));
    expect(results).toEqual([
      "web_search done on t1",
      "web_search done on t2",
      "web_search done on t3",
      "PAYMENT_LIMIT_REACHED: researcher has 10 credits left; web_search costs 30",
    ]);
    expect(upstream.requests.map((r) => r.url)).toEqual([
      "/web_search?topic=t1",
      "/web_search?topic=t2",
      "/web_search?topic=t3",
    ]);
    expect(upstream.requests.every((r) => r.authorized)).toBe(true);

    // A framework retry of a paid call that was answered (same id, same input) is charged once
    // and not forwarded again: the gateway refuses it.
    await expect(execute({ topic: "t1" }, toolCall("c1"))).rejects.toThrow(
      /already paid for a call that was answered/,
    );
    expect(upstream.requests).toHaveLength(3);
    const receipt = await (await owner.wallets.get(wallet.id)).getReceipt();
    expect(receipt.totalCredits).toBe(90n);
    expect(receipt.callCount).toBe(3n);
    expect(receipt.byAgent.map((a) => [a.key, a.credits])).toEqual([["researcher", 90n]]);
    // The stop condition knows the tool's price and the refused balance: 10 < 30.
    expect(await walletExhausted(wallet)({ steps: [] } as never)).toBe(true);
  });

  it("withBudget with onRefusal: a function gets the refusal; other errors propagate", async () => {
    const wallet = await agentWallet(40);
    const refusals: BudgetRefusal<string>[] = [];
    const fetchPage = withBudget(async (path: string) => (await paidFetch(path)).status, {
      wallet,
      gateway: "search",
      toolName: "fetch_page",
      onRefusal: (refusal) => {
        refusals.push(refusal);
        return -1;
      },
    });
    expect(await fetchPage("/ok")).toBe(200);
    // 10 credits left: the gateway refuses (402) before forwarding, and onRefusal answers.
    expect(await fetchPage("/fail")).toBe(-1);
    expect(refusals).toHaveLength(1);
    expect(refusals[0]).toMatchObject({
      wallet: "researcher",
      walletId: wallet.id,
      available: 10n,
      price: 30n,
      tool: "fetch_page",
      input: "/fail",
    });
    expect(refusals[0]?.error).toBeInstanceOf(InsufficientCreditsError);
    expect(upstream.requests.map((r) => r.url)).toEqual(["/ok"]);
  });

  it("an upstream 500 is returned to the tool; a throw from the tool propagates", async () => {
    const wallet = await agentWallet(100);
    const status = withBudget(async (path: string) => (await paidFetch(path)).status, {
      wallet,
      gateway: "search",
      toolName: "status",
    });
    expect(await status("/fail")).toBe(500);
    const throwing = withBudget(
      async (_path: string) => {
        throw new InsufficientCreditsError("not from the gateway", {
          code: 9,
          reason: "INSUFFICIENT_CREDITS",
        });
      },
      { wallet, gateway: "search", toolName: "throwing" },
    );
    // Not paidFetch's refusal: the tool's own error, so it propagates.
    await expect(throwing("/x")).rejects.toThrow("not from the gateway");
  });

  it("an async generator tool streams through the gateway; a refusal before its first value is answered", async () => {
    const wallet = await agentWallet(30);
    const pages = withBudget(
      async function* pages(topic: string) {
        const response = await paidFetch(`/stream?topic=${topic}`);
        yield `status ${response.status}`;
        yield "done";
      },
      { wallet, gateway: "search", toolName: "pages" },
    );
    const collect = async (topic: string) => {
      const out: unknown[] = [];
      for await (const value of pages(topic)) out.push(value);
      return out;
    };
    expect(await collect("a")).toEqual(["status 200", "done"]);
    expect(await collect("b")).toEqual([
      "PAYMENT_LIMIT_REACHED: researcher has 0 credits left; pages costs 30",
    ]);
  });

  it("refuses options that do not apply, and paidFetch outside a gateway tool", async () => {
    const wallet = await agentWallet();
    expect(() =>
      withBudget(async (x: string) => x, {
        wallet,
        gateway: "search",
        maxPrice: 10,
        cost: () => 1,
        toolName: "t",
      }),
    ).toThrow(/`maxPrice` does not apply with `gateway`/);
    expect(() =>
      withBudget(async (x: string) => x, { wallet, gateway: "a b", toolName: "t" }),
    ).toThrow(/must name a catalog service/);
    await expect(paidFetch("/x")).rejects.toThrow(/inside a tool budgeted with `gateway`/);
  });
});
