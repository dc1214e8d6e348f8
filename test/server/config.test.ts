import { describe, expect, it } from "vitest";
import { hashApiKey } from "../../server/auth/api-keys.js";
import { ConfigError, loadConfig } from "../../server/config.js";

const pem = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----";
const noFiles = (path: string): string => {
  throw new Error(`unexpected read of ${path}`);
};

const previousKey = {
  kty: "OKP",
  crv: "Ed25519",
  x: "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
  kid: "old",
};

describe("loadConfig", () => {
  it("fills every documented default from an empty environment", () => {
    expect(loadConfig({}, noFiles)).toEqual({
      address: "127.0.0.1:50051",
      httpAddress: "127.0.0.1:8080",
      gatewayAddress: "127.0.0.1:8081",
      catalogFile: undefined,
      previousSigningKeys: [],
      metricsMaxSpendLabelPairs: 500,
      redisUrl: undefined,
      redisCluster: false,
      keyPrefix: "tg:",
      apiKeys: [],
      signingKey: undefined,
      credentialTtlSeconds: 60,
      logLevel: "info",
      idempotencyTtlSeconds: 86_400,
      allowEviction: false,
      shutdownGraceMs: 10_000,
      maxMessageBytes: 65_536,
      healthIntervalMs: 5000,
      limits: {
        maxOpenHoldsPerTree: 10_000,
        maxChildrenPerWallet: 10_000,
        maxBreakdownKeysPerTree: 10_000,
      },
      sweepIntervalMs: 1000,
      eventRetention: { maxEventsPerTree: 10_000, maxAgeMs: 604_800_000 },
      maxWatchersPerProject: 32,
      watchStallMs: 30_000,
    });
  });

  it("reads every variable, treats empty values as unset and ignores unrelated ones", () => {
    const config = loadConfig(
      {
        TOLLGATE_ADDRESS: "[::1]:0",
        TOLLGATE_HTTP_ADDRESS: "0.0.0.0:8081",
        TOLLGATE_GATEWAY_ADDRESS: "0.0.0.0:8082",
        TOLLGATE_CATALOG_FILE: "/etc/tollgate/catalog.json",
        TOLLGATE_PREVIOUS_SIGNING_KEYS: JSON.stringify({ keys: [previousKey] }),
        TOLLGATE_METRICS_MAX_SPEND_LABEL_PAIRS: "20",
        REDIS_URL: "redis://:pw@127.0.0.1:6380/2",
        REDIS_CLUSTER: "0",
        TOLLGATE_KEY_PREFIX: "prod:",
        TOLLGATE_API_KEYS: "alpha=alpha-key-0123456789",
        TOLLGATE_SIGNING_KEY: pem,
        TOLLGATE_CREDENTIAL_TTL_SECONDS: "30",
        TOLLGATE_LOG_LEVEL: "debug",
        TOLLGATE_IDEMPOTENCY_TTL_SECONDS: "3600",
        TOLLGATE_ALLOW_EVICTION: "true",
        TOLLGATE_SHUTDOWN_GRACE_MS: "0",
        TOLLGATE_MAX_MESSAGE_BYTES: "1024",
        TOLLGATE_HEALTH_INTERVAL_MS: "250",
        TOLLGATE_MAX_OPEN_HOLDS_PER_TREE: "50",
        TOLLGATE_MAX_CHILDREN_PER_WALLET: "60",
        TOLLGATE_MAX_BREAKDOWN_KEYS_PER_TREE: "70",
        TOLLGATE_SWEEP_INTERVAL_MS: "200",
        TOLLGATE_EVENTS_PER_TREE: "500",
        TOLLGATE_EVENT_RETENTION_MS: "60000",
        TOLLGATE_MAX_WATCHERS_PER_PROJECT: "3",
        TOLLGATE_WATCH_STALL_MS: "5000",
        TOLLGATE_API_KEYS_FILE: "",
        PATH: "/usr/bin",
      },
      noFiles,
    );
    expect(config).toEqual({
      address: "[::1]:0",
      httpAddress: "0.0.0.0:8081",
      gatewayAddress: "0.0.0.0:8082",
      catalogFile: "/etc/tollgate/catalog.json",
      previousSigningKeys: [previousKey],
      metricsMaxSpendLabelPairs: 20,
      redisUrl: "redis://:pw@127.0.0.1:6380/2",
      redisCluster: false,
      keyPrefix: "prod:",
      apiKeys: [{ project: "alpha", keySha256: hashApiKey("alpha-key-0123456789") }],
      signingKey: pem,
      credentialTtlSeconds: 30,
      logLevel: "debug",
      idempotencyTtlSeconds: 3600,
      allowEviction: true,
      shutdownGraceMs: 0,
      maxMessageBytes: 1024,
      healthIntervalMs: 250,
      limits: { maxOpenHoldsPerTree: 50, maxChildrenPerWallet: 60, maxBreakdownKeysPerTree: 70 },
      sweepIntervalMs: 200,
      eventRetention: { maxEventsPerTree: 500, maxAgeMs: 60_000 },
      maxWatchersPerProject: 3,
      watchStallMs: 5000,
    });
  });

  it("takes REDIS_CLUSTER with a seed node's URL (database 0 or none)", () => {
    for (const url of ["rediss://u:pw@redis.internal:6379", "redis://10.0.0.7:7000/0"]) {
      expect(loadConfig({ REDIS_URL: url, REDIS_CLUSTER: "true" }, noFiles)).toMatchObject({
        redisUrl: url,
        redisCluster: true,
      });
    }
  });

  it("reads keys and the signing key from files", () => {
    const files: Record<string, string> = {
      "/keys.json": JSON.stringify([{ project: "bravo", keySha256: "ab".repeat(32) }]),
      "/signing.jwk": ' {"kty":"OKP","crv":"Ed25519","x":"x","d":"d"} ',
    };
    const config = loadConfig(
      { TOLLGATE_API_KEYS_FILE: "/keys.json", TOLLGATE_SIGNING_KEY_FILE: "/signing.jwk" },
      (path) => files[path] ?? noFiles(path),
    );
    expect(config.apiKeys).toEqual([{ project: "bravo", keySha256: "ab".repeat(32) }]);
    expect(config.signingKey).toBe('{"kty":"OKP","crv":"Ed25519","x":"x","d":"d"}');
  });

  it("lists every invalid variable by name in one error", () => {
    let error: unknown;
    try {
      loadConfig(
        {
          TOLLGATE_ADDRESS: "localhost",
          REDIS_URL: "http://x",
          TOLLGATE_CREDENTIAL_TTL_SECONDS: "1.5",
          TOLLGATE_LOG_LEVEL: "loud",
          TOLLGATE_ALLOW_EVICTION: "yes",
          TOLLGATE_SHUTDOWN_GRACE_MS: "-1",
          TOLLGATE_MAX_MESSAGE_BYTES: "99",
        },
        noFiles,
      );
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toBe(
      [
        "invalid configuration:",
        "  TOLLGATE_ADDRESS: must be host:port, e.g. 127.0.0.1:50051 or [::1]:0",
        "  REDIS_URL: must be a redis:// or rediss:// URL",
        "  TOLLGATE_CREDENTIAL_TTL_SECONDS: must be an integer from 1 to 86400",
        "  TOLLGATE_LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent",
        "  TOLLGATE_ALLOW_EVICTION: must be true or false",
        "  TOLLGATE_SHUTDOWN_GRACE_MS: must be an integer from 0 to 600000",
        "  TOLLGATE_MAX_MESSAGE_BYTES: must be an integer from 1024 to 67108864",
      ].join("\n"),
    );
  });

  it.each([
    [{ TOLLGATE_ADDRESS: "127.0.0.1:70000" }, "TOLLGATE_ADDRESS: must be host:port"],
    [{ TOLLGATE_HTTP_ADDRESS: "8080" }, "TOLLGATE_HTTP_ADDRESS: must be host:port"],
    [
      { TOLLGATE_METRICS_MAX_SPEND_LABEL_PAIRS: "100001" },
      "TOLLGATE_METRICS_MAX_SPEND_LABEL_PAIRS: must be an integer from 0 to 100000",
    ],
    [
      { TOLLGATE_API_KEYS: "a=short" },
      "TOLLGATE_API_KEYS: entry 1 (a): keys must be at least 16 characters",
    ],
    [
      { TOLLGATE_API_KEYS: "a=alpha-key-0123456789", TOLLGATE_API_KEYS_FILE: "/k.json" },
      "TOLLGATE_API_KEYS: set TOLLGATE_API_KEYS or TOLLGATE_API_KEYS_FILE, not both",
    ],
    [
      { TOLLGATE_API_KEYS_FILE: "/missing.json" },
      "TOLLGATE_API_KEYS_FILE: unexpected read of /missing.json",
    ],
    // ioredis would ignore these databases and use database 0.
    [{ REDIS_URL: "redis://127.0.0.1:6379/two" }, "REDIS_URL: the database must be a number"],
    [{ REDIS_URL: "redis://127.0.0.1:6379?db=x" }, "REDIS_URL: the database must be a number"],
    [{ REDIS_CLUSTER: "yes" }, "REDIS_CLUSTER: must be true or false"],
    [{ REDIS_CLUSTER: "true" }, "REDIS_CLUSTER: needs REDIS_URL (one node of the cluster)"],
    [
      { REDIS_CLUSTER: "1", REDIS_URL: "redis://127.0.0.1:7000/2" },
      "REDIS_CLUSTER: REDIS_URL must name a node with no /<db>: a Redis Cluster has only database 0",
    ],
    [{ TOLLGATE_SIGNING_KEY: "ssh-ed25519 AAAA" }, "TOLLGATE_SIGNING_KEY: must be a PKCS#8 PEM"],
    [
      { TOLLGATE_SIGNING_KEY: '{"kty":"OKP","x":"x"}' },
      "TOLLGATE_SIGNING_KEY: a JWK signing key must be a private key",
    ],
  ])("refuses %j", (env, message) => {
    expect(() => loadConfig(env, noFiles)).toThrow(message);
  });
});
