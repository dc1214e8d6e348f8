import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { ChargeKind } from "../gen/ts-proto/tollgate/v1/charge.js";
import type { SpendResponse } from "../gen/ts-proto/tollgate/v1/wallet_service.js";
import { hashApiKey } from "../server/auth/api-keys.js";
import { Catalog } from "../server/catalog/catalog.js";
import { CredentialIssuer } from "../server/credentials/credential-issuer.js";
import { bufferedDestination, createLogger } from "../server/logger.js";
import { startTollgateServer } from "../server/server.js";
import { createRedisClient } from "../server/store/redis/connect.js";
import { RedisLedgerStore } from "../server/store/redis/redis-ledger-store.js";
import { startEchoServer } from "./echo-server.js";
import { service } from "./scenarios.js";

/** Where the bench's servers run and how they reach Redis. */
export interface TargetSettings {
  redisUrl: string;
  /** The bench's own key prefix on the shared Redis; every key under it is deleted at the end. */
  keyPrefix: string;
  /** The API key the tollgate server accepts (project {@link benchProject}). */
  apiKey: string;
}

/** The project the bench's API key belongs to. */
export const benchProject = "bench";

/** The servers under test. */
export interface Targets {
  echoAddress: string;
  tollgateAddress: string;
  close(): Promise<void>;
}

/** Fresh settings: REDIS_URL or the local default, a random key prefix, a random API key. */
export function newTargetSettings(redisUrl: string): TargetSettings {
  return {
    redisUrl,
    keyPrefix: `tgbench:${randomBytes(6).toString("hex")}:`,
    apiKey: `bench-${randomBytes(16).toString("hex")}`,
  };
}

/**
 * Starts the echo floor and a real tollgate server on a Redis store. The tollgate server runs as
 * in production: an API key configured (every call goes through auth), a real signing key (every
 * spend gets a credential: the gateway's HS256 MAC for the catalog service the bench spends on,
 * Ed25519 for the row that spends outside the catalog), and call logging at `info`, the production default, so each
 * unary call pays for its log line. The lines go to /dev/null through the same kind of
 * destination `main` logs to (`bufferedDestination`: 4 KiB batches, flushed every 100 ms), so
 * their cost is counted but no terminal or pipe reader slows the run down.
 */
export async function startTargets(settings: TargetSettings): Promise<Targets> {
  const issuer = await CredentialIssuer.create(undefined, 60_000);
  const echo = await startEchoServer(await cannedSpendResponse(issuer));
  const redis = createRedisClient(settings.redisUrl);
  redis.on("error", () => {});
  const tollgate = await startTollgateServer({
    store: new RedisLedgerStore(redis, { keyPrefix: settings.keyPrefix }),
    address: "127.0.0.1:0",
    apiKeys: [{ project: benchProject, keySha256: hashApiKey(settings.apiKey) }],
    credentials: issuer,
    // The service the bench spends on is a paid API behind the gateway, at 1 credit a call.
    catalog: Catalog.fromEntries([
      {
        project: benchProject,
        name: service,
        upstream: "http://127.0.0.1:9/",
        price: { credits: 1 },
      },
    ]),
    logger: createLogger("info", bufferedDestination("/dev/null")),
  });
  return {
    echoAddress: echo.address,
    tollgateAddress: tollgate.address,
    async close() {
      await Promise.all([echo.close(), tollgate.shutdown()]);
    },
  };
}

/**
 * Deletes every key under the bench's prefix (SCAN + DEL, never FLUSH: the Redis is shared).
 * The tollgate server keeps idempotency records for 24 h, so without this each run would leave
 * one key per spend behind.
 */
export async function deleteBenchKeys(redisUrl: string, keyPrefix: string): Promise<number> {
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  let deleted = 0;
  try {
    await redis.connect();
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${keyPrefix}*`, "COUNT", 1000);
      cursor = next;
      if (keys.length > 0) deleted += await redis.del(...keys);
    } while (cursor !== "0");
  } finally {
    redis.disconnect();
  }
  return deleted;
}

/** A SpendResponse shaped like a real one: real ids' lengths and a real signed credential. */
async function cannedSpendResponse(issuer: CredentialIssuer): Promise<SpendResponse> {
  const nowMs = Date.now();
  const walletId = `w_${randomBytes(12).toString("hex")}`;
  const chargeId = `${walletId}.c1`;
  const credential = await issuer.issue(
    {
      project: benchProject,
      walletId,
      subjectId: chargeId,
      kind: "charge",
      service,
      amount: 1,
      issuedAtMs: nowMs,
    },
    "gateway",
  );
  return {
    charge: {
      id: chargeId,
      walletId,
      kind: ChargeKind.CHARGE_KIND_SPEND,
      amount: 1n,
      service: "search",
      metadata: { agent: "bench" },
      // As long as a real line's: the floor answers a message of the same size.
      hash: "f".repeat(40),
      prevHash: "e".repeat(40),
      gatewayFailure: "",
      overBudget: false,
      holdId: "",
      requestId: "bench-00000000",
      createdAt: new Date(nowMs),
    },
    remaining: 999_999_999n,
    credential: credential.token,
    credentialExpiresAt: new Date(credential.expiresAtMs),
  };
}
