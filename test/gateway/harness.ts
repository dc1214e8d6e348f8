import { randomBytes } from "node:crypto";
import { Writable } from "node:stream";
import { Redis } from "ioredis";
import { inject } from "vitest";
import { AgentKeys } from "../../server/agent-keys/agent-keys.js";
import { Authenticator } from "../../server/auth/authenticator.js";
import type { Caller } from "../../server/auth/caller.js";
import { Catalog, type CatalogEntryInput } from "../../server/catalog/catalog.js";
import { CredentialIssuer } from "../../server/credentials/credential-issuer.js";
import { CredentialRedeemer } from "../../server/credentials/credential-redeemer.js";
import { type Gateway, startGateway } from "../../server/gateway/gateway.js";
import { Ledger } from "../../server/ledger/ledger.js";
import { createLogger } from "../../server/logger.js";
import { Metrics } from "../../server/metrics/metrics.js";
import { startTollgateServer, type TollgateServer } from "../../server/server.js";
import type { LedgerStore } from "../../server/store/ledger-store.js";
import { MemoryLedgerStore } from "../../server/store/memory/memory-ledger-store.js";
import { createRedisClient } from "../../server/store/redis/connect.js";
import { RedisLedgerStore } from "../../server/store/redis/redis-ledger-store.js";
import { deleteKeys, testKeyPrefix } from "../support/key-prefix.js";

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

/** A server, its gateway, and what the agent side can observe. */
export interface GatewayHarness {
  server: TollgateServer;
  gateway: Gateway;
  /** `http://127.0.0.1:<gateway port>` */
  gatewayUrl: string;
  ledger: Ledger;
  /** The key the server signs credentials with. */
  issuer: CredentialIssuer;
  agentKeys: AgentKeys;
  store: LedgerStore;
  /** Raw log lines, every one the server and gateway wrote. */
  logs: string[];
  /** The `/metrics` text. */
  metrics(): Promise<string>;
  /**
   * Another gateway over the same store and keys: where a retry lands after the first gateway
   * died. Closed with the harness.
   */
  secondGateway(): Promise<Gateway>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  store: StoreKind;
  upstreamUrl: string;
  requestTimeoutMs?: number;
}

/**
 * Starts a server with its gateway on 127.0.0.1:0, on memory or Redis (a fresh key prefix).
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
  const catalog = Catalog.fromEntries(testCatalogEntries(options.upstreamUrl), {
    TEST_UPSTREAM_SECRET: upstreamSecret,
  });
  const now = Date.now;
  const credentials = await CredentialIssuer.create(undefined, 60_000);
  const server = await startTollgateServer({
    store,
    address: "127.0.0.1:0",
    httpAddress: "127.0.0.1:0",
    credentials,
    logger,
  });
  // Until the server wires the gateway: the same pieces it will use, over the same store.
  const agentKeys = new AgentKeys(store.agentKeys, derivationKey, now);
  const ledger = new Ledger(store, credentials, { now });
  const authenticator = new Authenticator([]);
  const metrics = new Metrics();
  const gatewayOptions = {
    address: "127.0.0.1:0",
    catalog,
    ledger,
    redeemer: new CredentialRedeemer(credentials, store.redemptions, agentKeys, now),
    authenticator: {
      async authenticateHeader(header: unknown): Promise<Caller> {
        const caller = (await authenticator.authenticateHeader(header)) as unknown;
        return typeof caller === "string"
          ? { project: caller, agent: undefined }
          : (caller as Caller);
      },
    },
    policy: { check: async () => {} },
    redemptions: store.redemptions,
    logger,
    metrics,
    now,
    requestTimeoutMs: options.requestTimeoutMs,
  };
  const gateway = await startGateway(gatewayOptions);
  const others: Gateway[] = [];
  const harness: GatewayHarness = {
    issuer: credentials,
    server,
    gateway,
    gatewayUrl: `http://127.0.0.1:${gateway.port}`,
    ledger,
    agentKeys,
    store,
    logs,
    async metrics() {
      return metrics.render();
    },
    async secondGateway() {
      const other = await startGateway({ ...gatewayOptions, metrics: new Metrics() });
      others.push(other);
      return other;
    },
    async close() {
      await Promise.all([gateway, ...others].map((g) => g.close(1_000)));
      await server.shutdown();
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
  return harness;
}

const derivationKey = randomBytes(32);
