import { randomBytes } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  createClient,
  InsufficientCreditsError,
  InvalidArgumentError,
  PermissionDeniedError,
  type TollgateClient,
  TollgateError,
  UnauthenticatedError,
  UnavailableError,
  type Wallet,
} from "../../client/index.js";
import { type PaidApi, startPaidApi } from "../../examples/support/upstream.js";
import { hashApiKey } from "../../server/auth/api-keys.js";
import { Catalog } from "../../server/catalog/catalog.js";
import { startTollgateServer, type TollgateServer } from "../../server/server.js";
import { type StoreUnderTest, stores } from "../rpc/stores.js";
import { rejection } from "./support.js";
import { startTcpProxy, type TcpProxy } from "./tcp-proxy.js";

/**
 * `tg.gateway.fetch` against a real server's gateway and a real upstream that checks its secret:
 * paid answers come back as Responses, refusals as the client's typed errors, and the client's own
 * retry of a dropped call is charged once.
 */

const projectKey = "client-gateway-key-0123456789";
const secret = `sk-upstream-${randomBytes(12).toString("hex")}`;

describe.each(stores)("tg.gateway.fetch ($name store)", ({ open }) => {
  let opened: StoreUnderTest;
  let server: TollgateServer;
  let upstream: PaidApi;
  let proxy: TcpProxy | undefined;
  let owner: TollgateClient;
  let gatewayUrl: string;
  const clients: TollgateClient[] = [];
  /** Cut the connection of the next upstream request before it is answered (a dropped answer). */
  let dropNext = false;

  const client = (apiKey: string | undefined, url = gatewayUrl) => {
    const made = createClient({
      address: server.address,
      apiKey,
      gatewayUrl: url,
      retry: { initialBackoffMs: 5 },
    });
    clients.push(made);
    return made;
  };

  /** A wallet of `budget` and an agent client whose key is bound to it (and `services`). */
  async function agentOn(budget: number, services = ["search"]) {
    const wallet = await owner.wallets.create({ name: "researcher", budget });
    const { secret: agentSecret, key } = await owner.agentKeys.create({ wallet, services });
    return { wallet, key, agent: client(agentSecret), agentSecret };
  }

  beforeEach(async () => {
    opened = open();
    dropNext = false;
    upstream = await startPaidApi(secret, (request, response) => {
      if (request.url === "/missing") {
        // An upstream's own refusal, shaped like tollgate's: still the upstream's paid answer.
        const body = '{"error":{"code":"NOT_FOUND","reason":"NO_SUCH_PAGE","message":"no page"}}';
        response.writeHead(404, { "content-type": "application/json" });
        response.end(body);
        return true;
      }
      if (!dropNext) return false;
      dropNext = false;
      // The gateway has charged and forwarded: losing its answer now is the case a retry with
      // the same request id must not charge twice.
      proxy?.cut();
      response.destroy();
      return true;
    });
    server = await startTollgateServer({
      store: opened.store,
      address: "127.0.0.1:0",
      gatewayAddress: "127.0.0.1:0",
      logLevel: "silent",
      apiKeys: [{ project: "gw", keySha256: hashApiKey(projectKey) }],
      catalog: Catalog.fromEntries(
        [
          {
            project: "gw",
            name: "search",
            upstream: upstream.url,
            price: { credits: 7 },
            auth: { secretEnv: "SEARCH_SECRET" },
          },
          {
            project: "gw",
            name: "other",
            upstream: upstream.url,
            price: { credits: 1 },
            auth: { secretEnv: "SEARCH_SECRET" },
          },
        ],
        { SEARCH_SECRET: secret },
      ),
    });
    gatewayUrl = `http://127.0.0.1:${server.gatewayPort}`;
    owner = client(projectKey);
  });
  afterEach(async () => {
    for (const made of clients.splice(0)) made.close();
    await proxy?.close();
    proxy = undefined;
    await server.shutdown();
    await upstream.close();
    await opened.cleanup();
  });

  it("pays the catalog price from the wallet; the upstream gets its secret, the agent never", async () => {
    const { wallet, agent, agentSecret } = await agentOn(20);
    const response = await agent.gateway.fetch(
      "search",
      "/web_search?topic=tollgate",
      { headers: { authorization: "Bearer something-else" } },
      { wallet, requestId: "call-1", metadata: { agent: "researcher" } },
    );
    expect(response.status).toBe(200);
    expect(response.headers.get("tollgate-charge-id")).toMatch(/\S/);
    const body = await response.text();
    expect(JSON.parse(body)).toEqual({
      tool: "web_search",
      topic: "tollgate",
      result: "web_search done on tollgate",
    });
    expect(body).not.toContain(secret);

    expect(upstream.requests).toHaveLength(1);
    const [seen] = upstream.requests;
    expect(seen).toMatchObject({
      method: "GET",
      url: "/web_search?topic=tollgate",
      authorized: true,
    });
    // Neither the agent's key nor its own authorization header reached the upstream.
    expect(JSON.stringify(seen?.headers)).not.toContain(agentSecret);
    expect(JSON.stringify(seen?.headers)).not.toContain("something-else");

    const receipt = await owner.wallets.get(wallet.id).then((w) => w.getReceipt());
    expect(receipt.totalCredits).toBe(7n);
    expect(receipt.byAgent.map((a) => [a.key, a.credits])).toEqual([["researcher", 7n]]);
    // The same request id again, once the call was answered: refused, charged once, not forwarded.
    const calls = upstream.requests.length;
    await expect(
      agent.gateway.fetch("search", "/web_search?topic=tollgate", undefined, {
        wallet,
        requestId: "call-1",
        metadata: { agent: "researcher" },
      }),
    ).rejects.toThrow(/already paid for a call that was answered/);
    expect(upstream.requests.length).toBe(calls);
    expect((await wallet.refresh()).spent).toBe(7n);
  });

  it("wallet.gatewayFetch is the same call, on the handle's wallet", async () => {
    const { wallet, agent } = await agentOn(20);
    const mine = await agent.wallets.get(wallet.id);
    const response = await mine.gatewayFetch("search", "web_search?topic=x", { method: "POST" });
    expect(await response.json()).toMatchObject({ tool: "web_search", topic: "x" });
    expect(upstream.requests[0]?.method).toBe("POST");
    expect((await mine.refresh()).spent).toBe(7n);
  });

  it("a wallet that cannot pay is refused with InsufficientCreditsError; nothing is forwarded", async () => {
    const { wallet, agent } = await agentOn(10);
    await agent.gateway.fetch("search", "/a", undefined, { wallet });
    const refused = await rejection(agent.gateway.fetch("search", "/b", undefined, { wallet }));
    expect(refused).toBeInstanceOf(InsufficientCreditsError);
    expect(refused).toMatchObject({
      reason: "INSUFFICIENT_CREDITS",
      walletId: wallet.id,
      requested: 7n,
      available: 3n,
    });
    expect((refused as TollgateError).requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(upstream.requests.map((r) => r.url)).toEqual(["/a"]);
  });

  it("maps 401 and 403 refusals to UnauthenticatedError and PermissionDeniedError", async () => {
    const { wallet, agent } = await agentOn(100);
    const elsewhere = await owner.wallets.create({ name: "elsewhere", budget: 100 });

    const outside = await rejection(
      agent.gateway.fetch("search", "/x", undefined, { wallet: elsewhere }),
    );
    expect(outside).toBeInstanceOf(PermissionDeniedError);
    expect((outside as TollgateError).reason).toBe("OUTSIDE_AGENT_SCOPE");
    const unbound = await rejection(agent.gateway.fetch("other", "/x", undefined, { wallet }));
    expect(unbound).toBeInstanceOf(PermissionDeniedError);
    expect((unbound as TollgateError).reason).toBe("SERVICE_NOT_ALLOWED");
    const unknown = await rejection(agent.gateway.fetch("nope", "/x", undefined, { wallet }));
    expect(unknown).toBeInstanceOf(PermissionDeniedError);
    expect((unknown as TollgateError).reason).toBe("SERVICE_NOT_IN_CATALOG");

    const stranger = client(
      "tga_000000000000000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    );
    const wrongKey = await rejection(stranger.gateway.fetch("search", "/x", undefined, { wallet }));
    expect(wrongKey).toBeInstanceOf(UnauthenticatedError);
    const noKey = await rejection(
      client(undefined).gateway.fetch("search", "/x", undefined, { wallet }),
    );
    expect(noKey).toBeInstanceOf(UnauthenticatedError);
    expect(upstream.requests).toEqual([]);
  });

  it("pays with a credential from a spend, redeemed once", async () => {
    const { wallet, agent } = await agentOn(100);
    const mine = await agent.wallets.get(wallet.id);
    const { credential } = await mine.spend(0, { service: "search" });
    const response = await agent.gateway.fetch("search", "/paid", undefined, { credential });
    expect(response.status).toBe(200);
    const replay = await rejection(
      agent.gateway.fetch("search", "/paid", undefined, { credential }),
    );
    expect(replay).toBeInstanceOf(TollgateError);
    expect((replay as TollgateError).reason).toBe("CREDENTIAL_ALREADY_REDEEMED");
    const wrong = await rejection(
      agent.gateway.fetch("other", "/paid", undefined, { credential: `${credential}x` }),
    );
    expect(wrong).toBeInstanceOf(UnauthenticatedError);
    expect(upstream.requests.map((r) => r.url)).toEqual(["/paid"]);
    expect((await mine.refresh()).spent).toBe(7n);
  });

  it("returns the upstream's own error answers as Responses: they were paid for", async () => {
    const { wallet, agent } = await agentOn(100);
    const response = await agent.gateway.fetch("search", "/missing", undefined, { wallet });
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ error: { reason: "NO_SUCH_PAGE" } });
    expect((await (await agent.wallets.get(wallet.id)).refresh()).spent).toBe(7n);
  });

  it("reports an unreachable upstream as UnavailableError", async () => {
    const { wallet, agent } = await agentOn(100);
    await upstream.close();
    upstream = await startPaidApi(secret);
    // The catalog still points at the old port: a connection refused, reported by the gateway.
    const unreachable = await rejection(agent.gateway.fetch("search", "/x", undefined, { wallet }));
    expect(unreachable).toBeInstanceOf(UnavailableError);
    expect((unreachable as TollgateError).reason).toBe("UPSTREAM_UNREACHABLE");
  });

  it("retries a dropped call under the same request id: charged once", async () => {
    const { wallet, agent, agentSecret } = await agentOn(100);
    proxy = await startTcpProxy(server.gatewayPort ?? 0);
    const viaProxy = client(agentSecret, `http://${proxy.address}`);
    dropNext = true;
    const response = await viaProxy.gateway.fetch("search", "/retried", undefined, {
      wallet,
      metadata: { agent: "researcher" },
    });
    expect(response.status).toBe(200);
    expect(upstream.requests.map((r) => r.url)).toEqual(["/retried", "/retried"]);
    // Both attempts carried one idempotency key upstream: the same paid call.
    const [first, second] = upstream.requests;
    expect(first?.idempotencyKey).toMatch(/\S/);
    expect(second?.idempotencyKey).toBe(first?.idempotencyKey);
    expect((await (await agent.wallets.get(wallet.id)).getReceipt()).callCount).toBe(1n);
  });

  it("refuses bad arguments before any request", async () => {
    const { wallet, agent } = await agentOn(100);
    const noGateway = createClient({ address: server.address, apiKey: projectKey });
    clients.push(noGateway);
    const missing = await rejection(noGateway.gateway.fetch("search", "/", undefined, { wallet }));
    expect((missing as InvalidArgumentError).field).toBe("gateway_url");
    const both = await rejection(
      agent.gateway.fetch("search", "/", undefined, { wallet, credential: "x" }),
    );
    expect(both).toBeInstanceOf(InvalidArgumentError);
    const badService = await rejection(agent.gateway.fetch("a/b", "/", undefined, { wallet }));
    expect((badService as InvalidArgumentError).field).toBe("service");
    expect(() => createClient({ address: "x:1", gatewayUrl: "ftp://x" })).toThrow(
      InvalidArgumentError,
    );
    expect(upstream.requests).toEqual([]);
  });

  it("aborts with init.signal, rejecting with its reason", async () => {
    const { wallet, agent } = await agentOn(100);
    const controller = new AbortController();
    controller.abort(new Error("stop"));
    await expect(
      agent.gateway.fetch(
        "search",
        "/",
        { signal: controller.signal },
        { wallet: wallet as Wallet },
      ),
    ).rejects.toThrow("stop");
  });
});
