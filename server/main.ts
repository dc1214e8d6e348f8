/**
 * The process entry point (`npm start`, and `tollgate serve` of the installed package, which
 * imports this module from server/cli.ts): the only place that reads the environment. It loads the
 * config, opens the store (memory by default, Redis with REDIS_URL, Redis Cluster when
 * REDIS_CLUSTER is also set), starts the server, prints a banner, and shuts down gracefully on
 * SIGTERM/SIGINT with exit code 0.
 */
import { Cluster, type Redis } from "ioredis";
import { Catalog } from "./catalog/catalog.js";
import { type ConfigError, loadConfig, type TollgateConfig } from "./config.js";
import { CredentialIssuer } from "./credentials/credential-issuer.js";
import { routeGrpcLogging } from "./grpc-logging.js";
import { webMonitorBuilt } from "./http/web-monitor-files.js";
import { LedgerError } from "./ledger/ledger-error.js";
import { createLogger, type Logger } from "./logger.js";
import { startTollgateServer, type TollgateServer } from "./server.js";
import { addressStartError } from "./startup/address-start-error.js";
import { awaitFirstRedisConnection } from "./startup/first-redis-connection.js";
import { redactUrl } from "./startup/redacted-url.js";
import { startFailureLine } from "./startup/start-error.js";
import type { LedgerStore } from "./store/ledger-store.js";
import { MemoryLedgerStore } from "./store/memory/memory-ledger-store.js";
import {
  assertNoEviction,
  assertNotClusterNode,
  createRedisClient,
  createRedisCluster,
  type RedisClient,
} from "./store/redis/connect.js";
import { RedisLedgerStore } from "./store/redis/redis-ledger-store.js";

interface OpenedStore {
  store: LedgerStore;
  /** For the banner, e.g. "memory (embedded; ...)" or "redis redis://... (maxmemory-policy ...)". */
  description: string;
}

async function openStore(config: TollgateConfig, logger: Logger): Promise<OpenedStore> {
  const idempotencyTtlMs = config.idempotencyTtlSeconds * 1000;
  const url = config.redisUrl;
  if (url === undefined) {
    return {
      store: new MemoryLedgerStore({
        idempotencyTtlMs,
        limits: config.limits,
        eventRetention: config.eventRetention,
      }),
      description: "memory (embedded: balances are lost on exit; set REDIS_URL for Redis)",
    };
  }
  const redis = config.redisCluster ? createRedisCluster(url) : createRedisClient(url);
  const kind = config.redisCluster ? "redis cluster, seed" : "redis";
  try {
    // Fails at once, naming the cause, when waiting cannot help (refused, wrong password, ...).
    await awaitFirstRedisConnection(redis, url, logger);
    watchConnection(redis, logger);
    if (!(redis instanceof Cluster)) {
      await assertNotClusterNode(redis).catch((error: unknown) => {
        throw unreachableOr(error, url);
      });
    }
    // Throws unless maxmemory-policy is noeviction (on a cluster: on every master) or eviction is
    // allowed on purpose: an evicted balance is lost money.
    const { policy } = await assertNoEviction(redis, { allowEviction: config.allowEviction }).catch(
      (error: unknown) => {
        if (error instanceof LedgerError) throw unreachableOr(error, url);
        throw new Error(`${(error as Error).message} (TOLLGATE_ALLOW_EVICTION=true allows it)`);
      },
    );
    if (policy !== "noeviction") {
      logger.warn(
        { policy, allowEviction: config.allowEviction },
        "Redis maxmemory-policy is not noeviction: keys (balances) may be evicted under memory pressure",
      );
    }
    return {
      store: new RedisLedgerStore(redis, {
        keyPrefix: config.keyPrefix,
        idempotencyTtlMs,
        limits: config.limits,
        eventRetention: config.eventRetention,
      }),
      description: `${kind} ${redactUrl(url)} (key prefix ${config.keyPrefix}, maxmemory-policy ${policy})`,
    };
  } catch (error) {
    redis.disconnect();
    throw error;
  }
}

/**
 * Logs a Redis outage once when it starts and once when it ends, instead of one line per
 * reconnect attempt (every 2 s), so an outage reads as two lines and calls show as UNAVAILABLE.
 * On a cluster `error` and `ready` are about the whole cluster (no node reachable, and back);
 * one node failing is a `node error`, logged by {@link watchClusterNodes}.
 */
function watchConnection(redis: RedisClient, logger: Logger): void {
  let down = false;
  redis.on("error", (error: Error) => {
    if (down) return;
    down = true;
    logger.warn(
      { err: error },
      "Redis connection lost: calls fail with UNAVAILABLE until it is back",
    );
  });
  redis.on("ready", () => {
    if (!down) return;
    down = false;
    logger.info("Redis connection restored");
  });
  if (redis instanceof Cluster) watchClusterNodes(redis, logger);
}

/**
 * One line when a cluster node becomes unreachable and one when a connection to it is ready
 * again. Node connections do not reconnect (the cluster client replaces them from its slot map,
 * every 5 s), so a dead node would otherwise log an error per slot refresh.
 */
function watchClusterNodes(cluster: Cluster, logger: Logger): void {
  const down = new Set<string>();
  cluster.on("node error", (error: Error, node: string) => {
    if (down.has(node)) return;
    down.add(node);
    logger.warn(
      { err: error, node },
      "Redis Cluster node unreachable: calls for its slots fail with UNAVAILABLE until it is back or replaced",
    );
  });
  cluster.on("+node", (redis: Redis) => {
    const node = `${redis.options.host}:${redis.options.port}`;
    redis.once("ready", () => {
      if (down.delete(node)) logger.info({ node }, "Redis Cluster node reachable again");
    });
  });
}

/** A start-up check's failure: "unreachable" when Redis could not answer, else the check's own. */
function unreachableOr(error: unknown, url: string): unknown {
  return error instanceof LedgerError
    ? new Error(`Redis unreachable at ${redactUrl(url)}`, { cause: error })
    : error;
}

function banner(
  server: TollgateServer,
  config: TollgateConfig,
  store: string,
  keyGenerated: boolean,
  catalogSize: number,
): string {
  const projects = [...new Set(config.apiKeys.map((k) => k.project))];
  const auth = server.authOpen
    ? 'OPEN: no API keys configured, every caller is project "default" (set TOLLGATE_API_KEYS)'
    : `API keys required (${config.apiKeys.length} keys, projects: ${projects.join(", ")})`;
  const signing = keyGenerated
    ? "generated at start: credentials die with this process (set TOLLGATE_SIGNING_KEY)"
    : "configured";
  return [
    `tollgate serving gRPC on ${server.address} and HTTP on ${server.httpAddress} (pid ${process.pid})`,
    `  store:       ${store}`,
    `  auth:        ${auth}`,
    `  signing key: ${signing}`,
    `  credentials: JWKS at http://${server.httpAddress}/.well-known/jwks.json`,
    "  services:    tollgate.v1.WalletService, ReceiptService, EventService, AgentKeyService, CredentialService, CatalogService, grpc.health.v1.Health, reflection",
    `  gateway:     http://${server.gatewayAddress}/<service>/<path> (${catalogSize} catalog ${catalogSize === 1 ? "service" : "services"}${config.catalogFile === undefined ? ": set TOLLGATE_CATALOG_FILE" : ""})`,
    `  web monitor: ${monitorUrl(server.httpAddress ?? config.httpAddress)}${webMonitorBuilt() ? "" : " (not built: run npm run build:web)"}`,
    "",
  ].join("\n");
}

/** The web monitor's URL: the HTTP face's root, with a wildcard host said as localhost. */
function monitorUrl(httpAddress: string): string {
  const colon = httpAddress.lastIndexOf(":");
  const host = httpAddress.slice(0, colon);
  const shown = host === "0.0.0.0" || host === "[::]" || host === "" ? "localhost" : host;
  return `http://${shown}:${httpAddress.slice(colon + 1)}/`;
}

async function main(): Promise<void> {
  let config: TollgateConfig;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    process.stderr.write(`tollgate: ${(error as ConfigError).message}\n`);
    process.exit(1);
  }
  const logger = createLogger(config.logLevel);
  // grpc-js's own messages may quote a request's authorization header: through pino, redacted.
  routeGrpcLogging(logger);
  const credentials = await CredentialIssuer.create(
    config.signingKey,
    config.credentialTtlSeconds * 1000,
    { previous: config.previousSigningKeys },
  ).catch((error: unknown) => {
    throw new Error(
      `TOLLGATE_SIGNING_KEY: cannot import the key (Ed25519 PKCS#8 PEM or private JWK)`,
      {
        cause: error,
      },
    );
  });
  if (config.signingKey === undefined) {
    logger.warn(
      "no TOLLGATE_SIGNING_KEY: generated a signing key; credentials die with this process",
    );
  }
  let catalog: Catalog | undefined;
  if (config.catalogFile !== undefined) {
    try {
      catalog = Catalog.fromFile(config.catalogFile);
    } catch (error) {
      process.stderr.write(`tollgate: TOLLGATE_CATALOG_FILE: ${(error as Error).message}\n`);
      process.exit(1);
    }
  }
  const { store, description } = await openStore(config, logger);
  let server: TollgateServer;
  try {
    server = await startTollgateServer({
      store,
      address: config.address,
      httpAddress: config.httpAddress,
      gatewayAddress: config.gatewayAddress,
      metricsMaxSpendLabelPairs: config.metricsMaxSpendLabelPairs,
      apiKeys: config.apiKeys,
      credentials,
      catalog,
      logger,
      shutdownGraceMs: config.shutdownGraceMs,
      maxMessageBytes: config.maxMessageBytes,
      healthIntervalMs: config.healthIntervalMs,
      sweepIntervalMs: config.sweepIntervalMs,
      maxWatchersPerProject: config.maxWatchersPerProject,
      watchStallMs: config.watchStallMs,
    });
  } catch (error) {
    await store.close();
    throw addressStartError(error);
  }
  // The banner goes to stderr: stdout stays pure JSON log lines for log pipelines.
  process.stderr.write(
    banner(server, config, description, config.signingKey === undefined, catalog?.size ?? 0),
  );
  // The public half of the signing key, so whoever verifies credentials (a paid tool or a proxy
  // in front of it) can pin it: a credential is only worth what its verification is.
  logger.info(
    {
      address: server.address,
      httpAddress: server.httpAddress,
      gatewayAddress: server.gatewayAddress,
      store: description,
      authOpen: server.authOpen,
      credentialPublicJwk: credentials.publicJwk,
    },
    "tollgate started",
  );

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    // Repeated signals are expected (tsx relays one and a terminal's Ctrl-C reaches the whole
    // process group) and ignored: the first shutdown is bounded by its grace deadline.
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down: finishing in-flight calls");
    server.shutdown().then(
      () => {
        logger.info("tollgate stopped");
        exitAfterFlush(logger, 0);
      },
      (error: unknown) => {
        logger.error({ err: error }, "shutdown failed");
        exitAfterFlush(logger, 1);
      },
    );
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  process.on("SIGHUP", () => {
    rotateSigningKey(credentials, logger).catch((error: unknown) =>
      logger.error({ err: error }, "signing key rotation failed: still signing with the old key"),
    );
  });
}

/**
 * SIGHUP: re-reads `TOLLGATE_SIGNING_KEY_FILE` and, when it holds a new key, signs with it from
 * now on; the old public key stays in the JWKS until its last credential has expired
 * (docs/credentials.md#key-rotation). An inline `TOLLGATE_SIGNING_KEY` cannot change under a
 * running process, so rotating one means a restart with the old key in
 * `TOLLGATE_PREVIOUS_SIGNING_KEYS`.
 */
async function rotateSigningKey(credentials: CredentialIssuer, logger: Logger): Promise<void> {
  const config = loadConfig(process.env);
  if (config.signingKey === undefined) {
    logger.warn("SIGHUP: no TOLLGATE_SIGNING_KEY_FILE to re-read; signing key unchanged");
    return;
  }
  const before = credentials.publicJwk.kid;
  const kid = await credentials.rotate(config.signingKey, Date.now());
  if (kid === before) logger.info({ kid }, "SIGHUP: signing key unchanged");
  else logger.info({ kid, retiredKid: before }, "signing key rotated; the old key stays published");
}

/**
 * pino writes asynchronously; exiting at once could drop or reorder the last lines (an in-flight
 * write can land after the exit-time synchronous flush), so flush first, then exit.
 */
function exitAfterFlush(logger: Logger, code: number): void {
  logger.flush(() => process.exit(code));
}

main().catch((error: unknown) => {
  process.stderr.write(startFailureLine(error));
  // Let pending log writes finish and the loop drain; the unref'd timer only fires if something
  // (a half-open connection) would keep a failed start alive.
  process.exitCode = 1;
  setTimeout(() => process.exit(1), 1000).unref();
});
