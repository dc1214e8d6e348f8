import { credentials } from "@grpc/grpc-js";
import { Redis } from "ioredis";
import { afterEach, describe, expect, inject, it } from "vitest";
import { WalletServiceClient } from "../../gen/ts-proto/tollgate/v1/wallet_service.js";
import { bearer, call, createRequest, failure } from "../rpc/harness.js";
import { deleteKeys, testKeyPrefix } from "../support/key-prefix.js";
import { exitOf, type Started, startMain } from "../support/main-process.js";
import { freePort, startOwnRedis } from "../support/redis-server.js";

describe("npm start (server/main.ts)", () => {
  let started: Started | undefined;
  afterEach(async () => {
    if (started && started.child.exitCode === null) {
      process.kill(started.pid, "SIGKILL");
      await started.exited;
    }
    started = undefined;
  });

  it("serves on the memory store with open auth and a generated key, and exits 0 on SIGTERM", async () => {
    const port = await freePort();
    const httpPort = await freePort();
    started = await startMain({
      TOLLGATE_ADDRESS: `127.0.0.1:${port}`,
      TOLLGATE_HTTP_ADDRESS: `127.0.0.1:${httpPort}`,
    });
    expect(started.banner).toEqual([
      `tollgate serving gRPC on 127.0.0.1:${port} and HTTP on 127.0.0.1:${httpPort} (pid ${started.pid})`,
      "  store:       memory (embedded: balances are lost on exit; set REDIS_URL for Redis)",
      '  auth:        OPEN: no API keys configured, every caller is project "default" (set TOLLGATE_API_KEYS)',
      "  signing key: generated at start: credentials die with this process (set TOLLGATE_SIGNING_KEY)",
      `  credentials: JWKS at http://127.0.0.1:${httpPort}/.well-known/jwks.json`,
      "  services:    tollgate.v1.WalletService, ReceiptService, EventService, AgentKeyService, CredentialService, CatalogService, grpc.health.v1.Health, reflection",
      expect.stringMatching(
        /^ {2}gateway: {5}http:\/\/127\.0\.0\.1:\d+\/<service>\/<path> \(0 catalog services: set TOLLGATE_CATALOG_FILE\)$/,
      ),
      `  web monitor: http://127.0.0.1:${httpPort}/`,
    ]);

    const client = new WalletServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());
    try {
      const { wallet } = await call(
        client,
        client.createWallet,
        createRequest({ requestId: "smoke", budget: 250n }),
      );
      const { wallet: read } = await call(client, client.getWallet, { walletId: wallet?.id ?? "" });
      expect(read).toMatchObject({ id: wallet?.id, budget: 250n, available: 250n, depth: 1 });
      // The HTTP face serves the same ledger: Connect JSON, and the metrics.
      const overHttp = await fetch(
        `http://127.0.0.1:${httpPort}/tollgate.v1.WalletService/GetWallet`,
        {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ walletId: wallet?.id }),
        },
      );
      expect(overHttp.status).toBe(200);
      expect(await overHttp.json()).toMatchObject({ wallet: { id: wallet?.id, budget: "250" } });
      const metrics = await fetch(`http://127.0.0.1:${httpPort}/metrics`);
      expect(await metrics.text()).toContain(
        'tollgate_calls_total{method="GetWallet",code="OK",transport="connect"} 1',
      );
    } finally {
      client.close();
    }

    process.kill(started.pid, "SIGTERM");
    expect(await started.exited).toBe(0);
    const lines = started
      .stdout()
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const startedLine = lines.find((l) => l.msg === "tollgate started");
    expect(startedLine?.credentialPublicJwk).toMatchObject({
      kty: "OKP",
      crv: "Ed25519",
      alg: "EdDSA",
    });
    expect(startedLine?.credentialPublicJwk).not.toHaveProperty("d");
    // Every line, each once. Their order is not asserted: under load the lines written around
    // shutdown have been seen to interleave differently through the npx/tsx process chain.
    expect(lines.map((l) => l.msg).sort()).toEqual(
      [
        "no TOLLGATE_SIGNING_KEY: generated a signing key; credentials die with this process",
        "tollgate started",
        "rpc",
        "rpc",
        "rpc",
        "shutting down: finishing in-flight calls",
        "tollgate stopped",
      ].sort(),
    );
  });

  it("uses Redis with REDIS_URL and requires API keys when they are configured", async () => {
    const port = await freePort();
    const prefix = testKeyPrefix();
    const redisUrl = inject("redisUrl");
    started = await startMain({
      TOLLGATE_ADDRESS: `127.0.0.1:${port}`,
      REDIS_URL: redisUrl,
      TOLLGATE_KEY_PREFIX: prefix,
      TOLLGATE_API_KEYS: "smoke=smoke-key-0123456789",
      TOLLGATE_LOG_LEVEL: "warn",
    });
    expect(started.banner.slice(1, 3)).toEqual([
      `  store:       redis ${new URL(redisUrl).toString()} (key prefix ${prefix}, maxmemory-policy noeviction)`,
      "  auth:        API keys required (1 keys, projects: smoke)",
    ]);
    const client = new WalletServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());
    const redis = new Redis(redisUrl);
    try {
      const refused = await failure(
        call(client, client.createWallet, createRequest({ requestId: "x", budget: 1n })),
      );
      expect(refused.code).toBe(16); // UNAUTHENTICATED
      const { wallet } = await call(
        client,
        client.createWallet,
        createRequest({ requestId: "smoke", budget: 9n }),
        bearer("smoke-key-0123456789"),
      );
      expect(wallet?.budget).toBe(9n);
      expect((await redis.keys(`${prefix}*`)).length).toBeGreaterThan(0);
    } finally {
      client.close();
      await deleteKeys(redis, prefix);
      redis.disconnect();
    }
    process.kill(started.pid, "SIGINT");
    expect(await started.exited).toBe(0);
  });

  it("refuses a Redis that may evict keys unless TOLLGATE_ALLOW_EVICTION=true, then warns", async () => {
    const own = await startOwnRedis();
    const admin = new Redis(own.url);
    try {
      await admin.config("SET", "maxmemory-policy", "allkeys-lru");
      const refused = await exitOf({ REDIS_URL: own.url, TOLLGATE_ADDRESS: "127.0.0.1:0" });
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain(
        'tollgate failed to start: Redis maxmemory-policy is "allkeys-lru": it may evict balances.',
      );
      expect(refused.stderr).toContain("(TOLLGATE_ALLOW_EVICTION=true allows it)");

      started = await startMain({
        REDIS_URL: own.url,
        TOLLGATE_ADDRESS: "127.0.0.1:0",
        TOLLGATE_ALLOW_EVICTION: "true",
      });
      expect(started.banner[1]).toBe(
        `  store:       redis ${own.url} (key prefix tg:, maxmemory-policy allkeys-lru)`,
      );
      process.kill(started.pid, "SIGTERM");
      expect(await started.exited).toBe(0);
      const warning = started
        .stdout()
        .split("\n")
        .find((l) => l.includes("maxmemory-policy is not noeviction"));
      expect(JSON.parse(warning ?? "{}")).toMatchObject({ level: 40, policy: "allkeys-lru" });
    } finally {
      admin.disconnect();
      await own.dispose();
    }
  });

  it("refuses to start on invalid configuration, naming the variable", async () => {
    const { code, stderr } = await exitOf({
      TOLLGATE_ADDRESS: "nowhere",
      TOLLGATE_LOG_LEVEL: "loud",
    });
    expect(code).toBe(1);
    expect(stderr).toContain(
      [
        "tollgate: invalid configuration:",
        "  TOLLGATE_ADDRESS: must be host:port, e.g. 127.0.0.1:50051 or [::1]:0",
        "  TOLLGATE_LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent",
      ].join("\n"),
    );
  });
});
