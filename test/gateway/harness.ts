import { randomBytes } from "node:crypto";
import { Writable } from "node:stream";
import { Redis } from "ioredis";
import { inject } from "vitest";
import { AgentKeys } from "../../server/agent-keys/agent-keys.js";
import { Catalog, type CatalogEntryInput } from "../../server/catalog/catalog.js";
import { CredentialIssuer } from "../../server/credentials/credential-issuer.js";
import { Ledger } from "../../server/ledger/ledger.js";
import { createLogger } from "../../server/logger.js";
import { startTollgateServer, type TollgateServer } from "../../server/server.js";
import type { LedgerStore } from "../../server/store/ledger-store.js";
import { MemoryLedgerStore } from "../../server/store/memory/memory-ledger-store.js";
import { createRedisClient } from "../../server/store/redis/connect.js";
import { RedisLedgerStore } from "../../server/store/redis/redis-ledger-store.js";
import { deleteKeys, testKeyPrefix } from "../support/key-prefix.js";
import { aroundStoreMethod } from "../support/store-proxy.js";

export type StoreKind = "memory" | "redis";
export const storeKinds: readonly StoreKind[] = ["memory", "redis"];

/** The upstream secret every test service uses; scanned for in everything the agent can see. */
export const upstreamSecret = `sk-upstream-${randomBytes(12).toString("hex")}`;

/** The test catalog: every kind of price, on one upstream. */
export function testCatalogEntries(upstreamUrl: string): CatalogEntryInput[] {
  const auth = { secretEnv: "TEST_UPSTREAM_SECRET" };
  return [
    { name: "echo", upstream: upstreamUrl, price: { credits: 7 }, auth, timeoutMs: 2_000 },
    {
      name: "held",
      upstream: upstreamUrl,
      price: { maxCredits: 20, meter: { header: "x-cost" } },
      auth,
      timeoutMs: 500,
    },
    {
      name: "stream",
      upstream: upstreamUrl,
      price: { maxCredits: 50, meter: { units: "sse-events" } },
      auth,
      timeoutMs: 5_000,
    },
    {
      name: "usage",
      upstream: upstreamUrl,
      price: { maxCredits: 40, meter: { json: "usage.n" } },
      auth,
    },
    {
      name: "limited",
      upstream: upstreamUrl,
      price: { credits: 1 },
      auth,
      methods: ["GET"],
      pathPrefixes: ["/echo/public"],
      maxRequestBytes: 1024,
    },
    {
      name: "upload",
      upstream: upstreamUrl,
      price: { credits: 1 },
      auth,
      methods: ["POST", "PUT"],
      maxRequestBytes: 1024,
    },
    { name: "echo", project: "other", upstream: upstreamUrl, price: { credits: 1 }, auth },
  ];
}

/** A server with its gateway, and what the agent side can observe. */
export interface GatewayHarness {
  server: TollgateServer;
  /** `http://127.0.0.1:<gateway port>` */
  gatewayUrl: string;
  gatewayPort: number;
  /** A ledger over the server's store, key and catalog: for setting up wallets and credentials. */
  ledger: Ledger;
  /** The key the server signs credentials with. */
  issuer: CredentialIssuer;
  /** Agent keys over the server's store, with its derivation key: mint and revoke. */
  agentKeys: AgentKeys;
  store: LedgerStore;
  /** Raw log lines, every one the servers wrote. */
  logs: string[];
  /** The `/metrics` text of every server still running. */
  metrics(): Promise<string>;
  /**
   * Another server (with its gateway) over the same store and signing key: where a retry lands
   * after the first one died. Shut down with the harness.
   */
  secondServer(): Promise<{ server: TollgateServer; gatewayUrl: string }>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  store: StoreKind;
  upstreamUrl: string;
  requestTimeoutMs?: number;
}

/**
 * Starts a real server (`startTollgateServer`, open mode) with its HTTP face and its gateway on
 * 127.0.0.1:0, on memory or Redis (a fresh key prefix), with {@link testCatalogEntries}.
 */
export async function startGatewayHarness(options: HarnessOptions): Promise<GatewayHarness> {
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString("utf8").split("\n")) if (line !== "") logs.push(line);
      done();
    },
  });
  const logger = createLogger("debug", sink);
  const redisUrl = inject("redisUrl");
  const keyPrefix = testKeyPrefix();
  const store: LedgerStore =
    options.store === "memory"
      ? new MemoryLedgerStore()
      : new RedisLedgerStore(createRedisClient(redisUrl), { keyPrefix });
  // Servers share the store; the harness closes it once they are all down (a server that "dies"
  // in a test must not take the store of the next one with it).
  const shared = aroundStoreMethod(store, "close", async () => {});
  const catalog = Catalog.fromEntries(testCatalogEntries(options.upstreamUrl), {
    TEST_UPSTREAM_SECRET: upstreamSecret,
  });
  const now = Date.now;
  const issuer = await CredentialIssuer.create(undefined, 60_000);
  const start = () =>
    startTollgateServer({
      store: shared,
      address: "127.0.0.1:0",
      httpAddress: "127.0.0.1:0",
      gatewayAddress: "127.0.0.1:0",
      gatewayRequestTimeoutMs: options.requestTimeoutMs,
      credentials: issuer,
      catalog,
      logger,
      shutdownGraceMs: 200,
    });
  const server = await start();
  const servers = [server];
  return {
    server,
    gatewayUrl: `http://127.0.0.1:${server.gatewayPort}`,
    gatewayPort: server.gatewayPort ?? 0,
    ledger: new Ledger(store, issuer, { now, catalog }),
    issuer,
    agentKeys: new AgentKeys(store.agentKeys, issuer.derivedSecret("tollgate agent keys v1"), now),
    store,
    logs,
    async metrics() {
      const texts = await Promise.all(
        servers.map((s) =>
          fetch(`http://127.0.0.1:${s.httpPort}/metrics`).then(
            (r) => r.text(),
            () => "", // shut down by the test
          ),
        ),
      );
      return texts.join("\n");
    },
    async secondServer() {
      const other = await start();
      servers.push(other);
      return { server: other, gatewayUrl: `http://127.0.0.1:${other.gatewayPort}` };
    },
    async close() {
      await Promise.all(servers.map((s) => s.shutdown()));
      await store.close();
      if (options.store === "redis") {
        const redis = new Redis(redisUrl, { lazyConnect: true, retryStrategy: () => null });
        redis.on("error", () => {});
        try {
          await redis.connect();
          await deleteKeys(redis, keyPrefix);
        } finally {
          redis.disconnect();
        }
      }
    },
  };
}
