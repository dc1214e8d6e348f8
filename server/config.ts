import { readFileSync } from "node:fs";
import type { JWK } from "jose";
import { z } from "zod";
import { type ApiKey, apiKeysFromFile, apiKeysFromPairs } from "./auth/api-keys.js";
import { defaultMaxWatchersPerProject } from "./events/event-feed.js";
import { defaultTreeLimits, type TreeLimits } from "./ledger/limits.js";
import { defaultWatchStallMs } from "./rpc/event-service.js";
import {
  defaultEventRetention,
  defaultIdempotencyTtlMs,
  type EventRetention,
} from "./store/ledger-store.js";

/** pino's levels, plus "silent" to turn logging off (tests). */
export const logLevels = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

/** One of {@link logLevels}. */
export type LogLevel = (typeof logLevels)[number];

/**
 * Defaults shared by {@link loadConfig} and `startTollgateServer`, so an embedded server and
 * `npm start` behave the same. Each value's reason is on the {@link TollgateConfig} field.
 */
export const configDefaults = {
  address: "127.0.0.1:50051",
  httpAddress: "127.0.0.1:8080",
  gatewayAddress: "127.0.0.1:8081",
  metricsMaxSpendLabelPairs: 500,
  keyPrefix: "tg:",
  credentialTtlSeconds: 60,
  logLevel: "info",
  idempotencyTtlSeconds: defaultIdempotencyTtlMs / 1000,
  shutdownGraceMs: 10_000,
  maxMessageBytes: 64 * 1024,
  healthIntervalMs: 5000,
  sweepIntervalMs: 1000,
} as const;

/**
 * The whole configuration of a tollgate process. Every field has an env var and a default;
 * {@link loadConfig} fills the defaults, so nothing else in the server needs to know them.
 */
export interface TollgateConfig {
  /**
   * `TOLLGATE_ADDRESS`, host:port to serve gRPC on (port 0 picks a free one). Default
   * `127.0.0.1:50051`: loopback, because a fresh clone must never expose an open (keyless) ledger
   * to the network; 50051 is the port every gRPC tutorial and tool expects.
   */
  address: string;
  /**
   * `TOLLGATE_HTTP_ADDRESS`, host:port of the HTTP face (port 0 picks a free one): the same
   * services over the Connect protocol (JSON for curl, binary) and gRPC-Web for browsers, and
   * `GET /metrics`. Default `127.0.0.1:8080`: loopback for the same reason as `address`, and 8080
   * because it is the usual port of a plain-text HTTP service next to a gRPC one.
   */
  httpAddress: string;
  /**
   * `TOLLGATE_GATEWAY_ADDRESS`, host:port of the paid-API gateway (docs/credentials.md#the-gateway):
   * `/<service>/<path>` forwarded to the catalog's upstream. Default `127.0.0.1:8081`: a listener
   * of its own, so its paths never collide with the API's and it can be exposed to agents while
   * the admin face is not; loopback for the same reason as `address`.
   */
  gatewayAddress: string;
  /**
   * `TOLLGATE_CATALOG_FILE`, the service catalog (JSON, docs/credentials.md#the-service-catalog).
   * Default unset: no catalog, so every spend is priced by its caller and the gateway forwards
   * nothing. Upstream secrets are referenced by env var or file name in it, never inlined.
   */
  catalogFile: string | undefined;
  /**
   * `TOLLGATE_PREVIOUS_SIGNING_KEYS` (a JWK Set, JSON) or `TOLLGATE_PREVIOUS_SIGNING_KEYS_FILE`:
   * keys retired by a rotation, published in the JWKS (not used to sign) for the credential TTL
   * plus 10 minutes after start, so credentials they signed keep verifying until they expire.
   * Default none.
   */
  previousSigningKeys: JWK[];
  /**
   * `TOLLGATE_METRICS_MAX_SPEND_LABEL_PAIRS`, 0..100000: how many distinct (project, service)
   * pairs get series of their own in the spend metrics; later pairs are counted as
   * `project="other", service="other"`. Default 500: services are whatever callers send, and every
   * pair is two series (spends and credits), so this keeps a scrape at most ~1000 such series
   * however many services callers invent, while a deployment's real services fit easily.
   */
  metricsMaxSpendLabelPairs: number;
  /**
   * `REDIS_URL` (`redis://` or `rediss://`). Default unset: the embedded memory store, so
   * `npm start` works with nothing else installed. Production sets it.
   */
  redisUrl: string | undefined;
  /**
   * `REDIS_CLUSTER` (true/false). Default false: most deployments run one Redis (with a replica),
   * and a cluster client costs a slot map and a connection per master. Set it when REDIS_URL is a
   * Redis Cluster: REDIS_URL then names one seed node (database 0, the only one a cluster has)
   * from which the client learns the others. The store needs nothing else, because every key of
   * a wallet tree shares one hash tag and so one slot; at start every master must be
   * `noeviction`, as a single Redis must. Left false with a cluster node in REDIS_URL, the server
   * refuses to start: it would reach only that node's trees.
   */
  redisCluster: boolean;
  /**
   * `TOLLGATE_KEY_PREFIX`, prepended to every Redis key. Default `tg:`: short (it is on every
   * key) and lets several deployments or tests share one Redis.
   */
  keyPrefix: string;
  /**
   * `TOLLGATE_API_KEYS` (`project=key,project2=key2`) or `TOLLGATE_API_KEYS_FILE` (JSON
   * `[{"project":"a","keySha256":"<hex>"}]`). Only SHA-256 hashes are kept. Default none: the
   * server runs open (every caller is project "default") and its banner says so, because a local
   * first run should not need a secret.
   */
  apiKeys: ApiKey[];
  /**
   * `TOLLGATE_SIGNING_KEY` (PKCS#8 PEM or a private JWK, Ed25519) or `TOLLGATE_SIGNING_KEY_FILE`.
   * Default unset: a key is generated at start with a warning, which is fine on a laptop but
   * invalidates every outstanding credential on restart and differs per replica.
   */
  signingKey: string | undefined;
  /**
   * `TOLLGATE_CREDENTIAL_TTL_SECONDS`, 1..86400. Default 60: long enough for a tool call to
   * present its credential, short enough that a leaked one is worth little.
   */
  credentialTtlSeconds: number;
  /** `TOLLGATE_LOG_LEVEL`. Default `info`: one line per call, which is what an audit needs. */
  logLevel: LogLevel;
  /**
   * `TOLLGATE_IDEMPOTENCY_TTL_SECONDS`, 1..2592000. Default 86400 (24 h): longer than any sane
   * client retry window, short enough that idempotency records stay bounded.
   */
  idempotencyTtlSeconds: number;
  /**
   * `TOLLGATE_ALLOW_EVICTION` (true/false). Default false: a Redis that may evict keys may evict
   * a balance, which is lost money, so the server refuses to start unless `maxmemory-policy` is
   * `noeviction` or this is set on purpose.
   */
  allowEviction: boolean;
  /**
   * `TOLLGATE_SHUTDOWN_GRACE_MS`, 0..600000. Default 10000: unary calls take milliseconds, so 10 s
   * lets every in-flight call finish even on a slow Redis, and stays well inside Kubernetes'
   * default 30 s termination grace period.
   */
  shutdownGraceMs: number;
  /**
   * `TOLLGATE_MAX_MESSAGE_BYTES`, the largest request accepted, 1024..67108864. Default 65536:
   * the largest valid request (16 metadata entries of 64 + 256 four-byte characters, plus the
   * other fields) is about 22 KB, so anything bigger is refused before it is decoded.
   */
  maxMessageBytes: number;
  /**
   * `TOLLGATE_HEALTH_INTERVAL_MS`, how often the store is pinged for the health service,
   * 100..600000. Default 5000: a PING every 5 s is free for Redis, and load balancers probe on a
   * similar period, so a dead store shows as NOT_SERVING within one probe.
   */
  healthIntervalMs: number;
  /**
   * Per-tree limits, each refused with its own reason (docs/limits.md):
   * `TOLLGATE_MAX_OPEN_HOLDS_PER_TREE`, `TOLLGATE_MAX_CHILDREN_PER_WALLET`,
   * `TOLLGATE_MAX_BREAKDOWN_KEYS_PER_TREE`, each 1..1000000. Default 10000 each: far above
   * what an agent run uses, small enough that a full tree's expiry or close backlog is about a
   * second of bounded batches.
   */
  limits: TreeLimits;
  /**
   * `TOLLGATE_SWEEP_INTERVAL_MS`, how often idle trees are checked for due holds, 100..60000.
   * Default 1000: an idle tree's expired hold is released (and its EXPIRE line written) within
   * about a second, for one cheap schedule read per second when nothing is due.
   */
  sweepIntervalMs: number;
  /**
   * Event retention per tree (docs/events.md#retention): `TOLLGATE_EVENTS_PER_TREE`
   * (1..10000000, default 10000: every event of a long agent run, about 1.5 MB of Redis) and
   * `TOLLGATE_EVENT_RETENTION_MS` (1000..31536000000, default 7 days: a monitor that was away
   * over a weekend can still resume).
   */
  eventRetention: EventRetention;
  /**
   * `TOLLGATE_MAX_WATCHERS_PER_PROJECT`, open WatchEvents per project on one server, 1..10000.
   * Default 32: a team's dashboards and CLIs, while one tenant cannot hold every stream.
   */
  maxWatchersPerProject: number;
  /**
   * `TOLLGATE_WATCH_STALL_MS`, how long a watcher may leave events unread before it is ended with
   * WATCHER_TOO_SLOW (to resume by cursor), 1000..3600000. Default 30000: longer than any GC
   * pause or network hiccup, short enough that dead readers do not pile up.
   */
  watchStallMs: number;
}

/** Reads a file named by a `*_FILE` variable; injectable so {@link loadConfig} stays testable. */
export type ReadFile = (path: string) => string;

/** Thrown by {@link loadConfig}: one line per invalid variable, naming it. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

const hostPort = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;

function int(min: number, max: number, fallback: number) {
  return z
    .string()
    .optional()
    .transform((s, ctx) => {
      if (s === undefined) return fallback;
      const n = /^\d+$/.test(s) ? Number(s) : Number.NaN;
      if (!Number.isSafeInteger(n) || n < min || n > max) {
        ctx.addIssue({ code: "custom", message: `must be an integer from ${min} to ${max}` });
        return z.NEVER;
      }
      return n;
    });
}

/** A boolean setting, false when unset. */
const trueOrFalse = z
  .enum(["true", "false", "1", "0"], { error: "must be true or false" })
  .default("false")
  .transform((v) => v === "true" || v === "1");

const envSchema = z.object({
  TOLLGATE_ADDRESS: z
    .string()
    .default(configDefaults.address)
    .refine((a) => {
      const port = hostPort.exec(a)?.[2];
      return port !== undefined && Number(port) <= 65_535;
    }, "must be host:port, e.g. 127.0.0.1:50051 or [::1]:0"),
  TOLLGATE_HTTP_ADDRESS: z
    .string()
    .default(configDefaults.httpAddress)
    .refine((a) => {
      const port = hostPort.exec(a)?.[2];
      return port !== undefined && Number(port) <= 65_535;
    }, "must be host:port, e.g. 127.0.0.1:8080 or [::1]:0"),
  TOLLGATE_GATEWAY_ADDRESS: z
    .string()
    .default(configDefaults.gatewayAddress)
    .refine((a) => {
      const port = hostPort.exec(a)?.[2];
      return port !== undefined && Number(port) <= 65_535;
    }, "must be host:port, e.g. 127.0.0.1:8081 or [::1]:0"),
  TOLLGATE_CATALOG_FILE: z.string().optional(),
  TOLLGATE_PREVIOUS_SIGNING_KEYS: z.string().optional(),
  TOLLGATE_PREVIOUS_SIGNING_KEYS_FILE: z.string().optional(),
  TOLLGATE_METRICS_MAX_SPEND_LABEL_PAIRS: int(0, 100_000, configDefaults.metricsMaxSpendLabelPairs),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\/\S+$/, "must be a redis:// or rediss:// URL")
    // ioredis ignores a database that is not a number and silently uses database 0.
    .refine(numericDatabase, "the database must be a number: redis://host:port/<db>")
    .optional(),
  REDIS_CLUSTER: trueOrFalse,
  TOLLGATE_KEY_PREFIX: z
    .string()
    .max(64, "must be at most 64 characters")
    // Braces would break the hash tag that keeps a wallet tree in one Redis Cluster slot.
    .regex(/^[^\s{}]*$/, "must not contain spaces, { or }")
    .default(configDefaults.keyPrefix),
  TOLLGATE_API_KEYS: z.string().optional(),
  TOLLGATE_API_KEYS_FILE: z.string().optional(),
  TOLLGATE_SIGNING_KEY: z.string().optional(),
  TOLLGATE_SIGNING_KEY_FILE: z.string().optional(),
  TOLLGATE_CREDENTIAL_TTL_SECONDS: int(1, 86_400, configDefaults.credentialTtlSeconds),
  TOLLGATE_LOG_LEVEL: z
    .enum(logLevels, { error: `must be one of ${logLevels.join(", ")}` })
    .default(configDefaults.logLevel),
  TOLLGATE_IDEMPOTENCY_TTL_SECONDS: int(1, 2_592_000, configDefaults.idempotencyTtlSeconds),
  TOLLGATE_ALLOW_EVICTION: trueOrFalse,
  TOLLGATE_SHUTDOWN_GRACE_MS: int(0, 600_000, configDefaults.shutdownGraceMs),
  TOLLGATE_MAX_MESSAGE_BYTES: int(1024, 64 * 1024 * 1024, configDefaults.maxMessageBytes),
  TOLLGATE_HEALTH_INTERVAL_MS: int(100, 600_000, configDefaults.healthIntervalMs),
  TOLLGATE_MAX_OPEN_HOLDS_PER_TREE: int(1, 1_000_000, defaultTreeLimits.maxOpenHoldsPerTree),
  TOLLGATE_MAX_CHILDREN_PER_WALLET: int(1, 1_000_000, defaultTreeLimits.maxChildrenPerWallet),
  TOLLGATE_MAX_BREAKDOWN_KEYS_PER_TREE: int(
    1,
    1_000_000,
    defaultTreeLimits.maxBreakdownKeysPerTree,
  ),
  TOLLGATE_SWEEP_INTERVAL_MS: int(100, 60_000, configDefaults.sweepIntervalMs),
  TOLLGATE_EVENTS_PER_TREE: int(1, 10_000_000, defaultEventRetention.maxEventsPerTree),
  TOLLGATE_EVENT_RETENTION_MS: int(1000, 31_536_000_000, defaultEventRetention.maxAgeMs),
  TOLLGATE_MAX_WATCHERS_PER_PROJECT: int(1, 10_000, defaultMaxWatchersPerProject),
  TOLLGATE_WATCH_STALL_MS: int(1000, 3_600_000, defaultWatchStallMs),
});

/** Rules across variables, checked once each one is valid on its own. */
const checkedEnv = envSchema.superRefine((e, ctx) => {
  if (!e.REDIS_CLUSTER) return;
  if (e.REDIS_URL === undefined) {
    ctx.addIssue({
      code: "custom",
      path: ["REDIS_CLUSTER"],
      message: "needs REDIS_URL (one node of the cluster)",
    });
  } else if (!["", "/", "/0"].includes(urlPath(e.REDIS_URL))) {
    ctx.addIssue({
      code: "custom",
      path: ["REDIS_CLUSTER"],
      message: "REDIS_URL must name a node with no /<db>: a Redis Cluster has only database 0",
    });
  }
});

/** Whether a Redis URL's database (`/<db>`, or `?db=`) is absent or a number. */
function numericDatabase(url: string): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return true; // not this rule's business: the client refuses it when it opens
  }
  const db = parsed.searchParams.get("db");
  return /^(\/\d*)?$/.test(parsed.pathname) && (db === null || /^\d+$/.test(db));
}

/** The path of a URL (a Redis URL's `/<db>`), or "?" when it does not parse. */
function urlPath(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return "?";
  }
}

/**
 * Turns environment variables into a {@link TollgateConfig}, filling every default. Pure apart
 * from reading the files named by `*_FILE` variables (through `readFile`); never reads
 * `process.env` itself, so only the entry point touches the environment. Empty values count as
 * unset, as container tooling often passes `VAR=` for "not configured".
 *
 * @throws ConfigError listing every invalid variable by name.
 */
export function loadConfig(
  env: Readonly<Record<string, string | undefined>>,
  readFile: ReadFile = (path) => readFileSync(path, "utf8"),
): TollgateConfig {
  const present = Object.fromEntries(
    Object.entries(env).filter(([key, value]) => key in envSchema.shape && value !== ""),
  );
  const parsed = checkedEnv.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(
      `invalid configuration:\n${parsed.error.issues
        .map((i) => `  ${String(i.path[0])}: ${i.message}`)
        .join("\n")}`,
    );
  }
  const e = parsed.data;
  return {
    address: e.TOLLGATE_ADDRESS,
    httpAddress: e.TOLLGATE_HTTP_ADDRESS,
    gatewayAddress: e.TOLLGATE_GATEWAY_ADDRESS,
    catalogFile: e.TOLLGATE_CATALOG_FILE,
    previousSigningKeys:
      oneOf(
        "TOLLGATE_PREVIOUS_SIGNING_KEYS",
        e.TOLLGATE_PREVIOUS_SIGNING_KEYS,
        e.TOLLGATE_PREVIOUS_SIGNING_KEYS_FILE,
        readFile,
        { inline: parseKeySet, file: parseKeySet },
      ) ?? [],
    metricsMaxSpendLabelPairs: e.TOLLGATE_METRICS_MAX_SPEND_LABEL_PAIRS,
    redisUrl: e.REDIS_URL,
    redisCluster: e.REDIS_CLUSTER,
    keyPrefix: e.TOLLGATE_KEY_PREFIX,
    apiKeys:
      oneOf("TOLLGATE_API_KEYS", e.TOLLGATE_API_KEYS, e.TOLLGATE_API_KEYS_FILE, readFile, {
        inline: apiKeysFromPairs,
        file: apiKeysFromFile,
      }) ?? [],
    signingKey: oneOf(
      "TOLLGATE_SIGNING_KEY",
      e.TOLLGATE_SIGNING_KEY,
      e.TOLLGATE_SIGNING_KEY_FILE,
      readFile,
      { inline: checkSigningKey, file: checkSigningKey },
    ),
    credentialTtlSeconds: e.TOLLGATE_CREDENTIAL_TTL_SECONDS,
    logLevel: e.TOLLGATE_LOG_LEVEL,
    idempotencyTtlSeconds: e.TOLLGATE_IDEMPOTENCY_TTL_SECONDS,
    allowEviction: e.TOLLGATE_ALLOW_EVICTION,
    shutdownGraceMs: e.TOLLGATE_SHUTDOWN_GRACE_MS,
    maxMessageBytes: e.TOLLGATE_MAX_MESSAGE_BYTES,
    healthIntervalMs: e.TOLLGATE_HEALTH_INTERVAL_MS,
    limits: {
      maxOpenHoldsPerTree: e.TOLLGATE_MAX_OPEN_HOLDS_PER_TREE,
      maxChildrenPerWallet: e.TOLLGATE_MAX_CHILDREN_PER_WALLET,
      maxBreakdownKeysPerTree: e.TOLLGATE_MAX_BREAKDOWN_KEYS_PER_TREE,
    },
    sweepIntervalMs: e.TOLLGATE_SWEEP_INTERVAL_MS,
    eventRetention: {
      maxEventsPerTree: e.TOLLGATE_EVENTS_PER_TREE,
      maxAgeMs: e.TOLLGATE_EVENT_RETENTION_MS,
    },
    maxWatchersPerProject: e.TOLLGATE_MAX_WATCHERS_PER_PROJECT,
    watchStallMs: e.TOLLGATE_WATCH_STALL_MS,
  };
}

/**
 * A setting given inline (`NAME`) or as a file (`NAME_FILE`), never both: silently preferring one
 * would hide a deployment mistake.
 */
function oneOf<T>(
  name: string,
  inline: string | undefined,
  path: string | undefined,
  readFile: ReadFile,
  parse: { inline: (text: string) => T; file: (text: string) => T },
): T | undefined {
  if (inline !== undefined && path !== undefined) {
    throw new ConfigError(
      `invalid configuration:\n  ${name}: set ${name} or ${name}_FILE, not both`,
    );
  }
  const variable = path === undefined ? name : `${name}_FILE`;
  try {
    if (inline !== undefined) return parse.inline(inline);
    if (path !== undefined) return parse.file(readFile(path));
    return undefined;
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new ConfigError(`invalid configuration:\n  ${variable}: ${why}`, { cause: error });
  }
}

/**
 * A cheap shape check so a pasted public key or a truncated PEM fails at config time with the
 * variable's name; the full parse happens when the credential issuer imports the key.
 */
function checkSigningKey(text: string): string {
  const key = text.trim();
  if (key.startsWith("-----BEGIN PRIVATE KEY-----")) return key;
  if (key.startsWith("{")) {
    let jwk: unknown;
    try {
      jwk = JSON.parse(key);
    } catch {
      throw new Error("is not valid JSON");
    }
    if (typeof jwk === "object" && jwk !== null && "d" in jwk) return key;
    throw new Error("a JWK signing key must be a private key (with a `d` member)");
  }
  throw new Error("must be a PKCS#8 PEM (-----BEGIN PRIVATE KEY-----) or a private JWK");
}

/** A JWK Set (`{"keys": [...]}`) or a bare array of JWKs: Ed25519 keys, public or private. */
function parseKeySet(text: string): JWK[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error("is not valid JSON");
  }
  const keys = Array.isArray(json) ? json : (json as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) throw new Error('must be a JWK Set {"keys": [...]} or an array');
  keys.forEach((key, index) => {
    const k = key as JWK | null;
    if (k?.kty !== "OKP" || k.crv !== "Ed25519" || typeof k.x !== "string") {
      throw new Error(`key ${index} is not an Ed25519 (OKP) JWK`);
    }
  });
  return keys as JWK[];
}
