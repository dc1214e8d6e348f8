import { Cluster, Redis, type RedisOptions, ReplyError } from "ioredis";
import { refuseDatabaseFallback } from "./database-guard.js";
import { storeFailure, unavailable } from "./script-errors.js";

/**
 * What the Redis store runs on: one Redis, or a Redis Cluster. Every script touches the keys of
 * one tree, which share one hash tag and so one slot, so the store needs nothing else from a
 * cluster than a client that routes each call by its first key.
 */
export type RedisClient = Redis | Cluster;

/**
 * Per-connection settings shared by {@link createRedisClient} and every node connection of
 * {@link createRedisCluster}, so both fail closed alike.
 */
const failClosedConnection = {
  // Commands in flight when the connection drops are failed at the first reconnect attempt
  // (0 retries) and not resent after reconnecting: a resend could land after the caller gave
  // up. The caller may retry with the same request id; the idempotency record answers it.
  maxRetriesPerRequest: 0,
  autoResendUnfulfilledCommands: false,
  // A TCP connect that hangs (a dead host, not a refused port) gives up after 2 s.
  connectTimeout: 2_000,
  // A reply slower than 5 s is treated as an outage. Every script is O(tree depth) or one page,
  // far below this; Redis answers other clients BUSY long before a script takes this long.
  commandTimeout: 5_000,
} as const satisfies RedisOptions;

/** Reconnect forever, 100 ms doubling to 2 s: an outage is survived without a restart. */
export function reconnectDelayMs(attempt: number): number {
  return Math.min(100 * 2 ** Math.min(attempt - 1, 5), 2_000);
}

/**
 * A Redis client tuned to fail closed: while Redis is unreachable every call fails at once with
 * STORE_UNAVAILABLE (nothing is queued to run, and maybe grant a spend, long after its caller
 * gave up), and the client keeps reconnecting in the background so service resumes by itself.
 * It never falls back to database 0 when the URL's database is refused (`refuseDatabaseFallback`).
 * Attach an `error` listener to hear of outages (main logs them).
 */
export function createRedisClient(url: string): Redis {
  const redis = new Redis(url, {
    ...failClosedConnection,
    // Commands issued while disconnected are refused immediately instead of being buffered.
    enableOfflineQueue: false,
    // A Redis that comes back is in use within 2 s.
    retryStrategy: reconnectDelayMs,
    // After a failover the old primary turns replica and answers READONLY: reconnect so the
    // URL (DNS, a proxy) can lead to the new primary. The failed call itself is not resent.
    reconnectOnError: (error) => error.message.startsWith("READONLY"),
  });
  // Never database 0 in place of the URL's: a refused SELECT drops the connection.
  refuseDatabaseFallback(redis);
  return redis;
}

/**
 * A Redis Cluster client with the fail-closed behaviour of {@link createRedisClient}. `seedUrl`
 * names one node (`redis://` or `rediss://`, user and password apply to every node); the client
 * learns the others from it (CLUSTER SLOTS) and routes each script to the master of its tree's
 * slot. Attach `error` and `node error` listeners (main logs them).
 *
 * What differs from ioredis's defaults, and why:
 * - No offline queue at the cluster: a call made while the cluster is not ready fails at once
 *   instead of running later. (ioredis keeps each node connection's own queue on; it holds a call
 *   only while that node's connection opens, at most the 2 s connect timeout.)
 * - A call whose node connection closed is not retried (`retryDelayOnFailover` 0): it may have
 *   run, and a resend could land after its caller gave up. CLUSTERDOWN is not retried either
 *   (`retryDelayOnClusterDown` 0): a cluster without a master for a slot is an outage, answered
 *   STORE_UNAVAILABLE at once like a down Redis. So a master going down fails the calls of its
 *   trees at once; the other masters' trees keep being served until the cluster marks the node
 *   failed (`cluster-node-timeout`, 15 s by default), after which a cluster with
 *   `cluster-require-full-coverage yes` (the default) refuses every slot until a replica takes
 *   over. Either way nothing is granted that was not committed.
 * - MOVED, ASK and TRYAGAIN are still followed: Redis sends them instead of running the command,
 *   so following them can never run a script twice.
 * - The slot map is refreshed every 5 s (ioredis's default is never, relying on MOVED alone), so
 *   a failover or resharding is learnt even for slots no call has touched since.
 * - Every call goes to a master (`scaleReads` "master", the default, kept on purpose): even the
 *   read scripts write, since they first expire the tree's due holds.
 *
 * The seed is only used to (re)connect from scratch, so it should be an address that always
 * leads to a live node (a DNS name or a service address), not one node's IP.
 */
export function createRedisCluster(seedUrl: string): Cluster {
  const seed = new URL(seedUrl);
  if (!["", "/", "/0"].includes(seed.pathname)) {
    throw new RangeError("a Redis Cluster has only database 0: drop the /<db> from the URL");
  }
  const cluster = new Cluster(
    [{ host: seed.hostname.replace(/^\[(.*)\]$/, "$1"), port: portOf(seed) }],
    {
      enableOfflineQueue: false,
      // "ready" only once CLUSTER INFO says cluster_state:ok (the default, relied on here).
      enableReadyCheck: true,
      scaleReads: "master",
      retryDelayOnFailover: 0,
      retryDelayOnClusterDown: 0,
      clusterRetryStrategy: reconnectDelayMs,
      slotsRefreshInterval: 5_000,
      // CLUSTER SLOTS is answered in microseconds; 2 s matches the connect timeout and leaves room
      // for a loaded host.
      slotsRefreshTimeout: 2_000,
      redisOptions: {
        ...failClosedConnection,
        username: decodeURIComponent(seed.username) || undefined,
        password: decodeURIComponent(seed.password) || undefined,
        tls: seed.protocol === "rediss:" ? {} : undefined,
      },
    },
  );
  // ioredis opens a node's connection on the node's first command, and with the offline queue off
  // it refuses every other command for that node until the connection is up ("Connection is
  // closed."): a burst right after start or after a topology change would fail for nothing. So
  // masters are connected as soon as the cluster is ready, and a master learnt later at once
  // (`waitForReady` also waits for them at start). Not before "ready": the ready check's CLUSTER
  // INFO goes to any node and is refused by one that is still connecting.
  const connect = (node: Redis) => {
    if (node.status === "wait" && !node.options.readOnly) node.connect().catch(() => {});
  };
  cluster.on("ready", () => {
    for (const node of cluster.nodes("master")) connect(node);
  });
  cluster.on("+node", (node: Redis) => {
    if (cluster.status === "ready") connect(node);
  });
  return cluster;
}

function portOf(url: URL): number {
  return url.port === "" ? 6379 : Number(url.port);
}

/**
 * Waits until `redis` is ready, at most `timeoutMs`, else throws STORE_UNAVAILABLE. With the
 * offline queue off, a command sent before the first connection completes would be refused, so
 * start-up (and a store's first call) waits here once. A cluster is ready once its slots are
 * known, CLUSTER INFO says ok and every master's connection is up (see `createRedisCluster`).
 */
export async function waitForReady(redis: RedisClient, timeoutMs: number): Promise<void> {
  await clientReady(redis, timeoutMs);
  if (redis instanceof Cluster) {
    // A node's own offline queue is on: the PING waits for its connection, at most the connect
    // timeout, so this adds no wait of its own.
    await Promise.all(redis.nodes("master").map((node) => node.ping())).catch((error: unknown) => {
      throw unavailable(error);
    });
  }
}

async function clientReady(redis: RedisClient, timeoutMs: number): Promise<void> {
  if (redis.status === "ready") return;
  if (redis.status === "end") throw unavailable(new Error("the Redis connection was closed"));
  // A `lazyConnect` client connects on its first command, which the disabled offline queue would
  // refuse: start it here. Its failure shows up below as a timeout, like any unreachable Redis.
  if (redis.status === "wait") redis.connect().catch(() => {});
  await new Promise<void>((resolve, reject) => {
    const done = (error?: Error) => {
      clearTimeout(timer);
      redis.off("ready", onReady);
      redis.off("end", onEnd);
      if (error === undefined) resolve();
      else reject(unavailable(error));
    };
    const onReady = () => done();
    const onEnd = () => done(new Error("the Redis connection was closed"));
    const timer = setTimeout(
      () => done(new Error(`Redis was not ready within ${timeoutMs} ms`)),
      timeoutMs,
    );
    redis.once("ready", onReady);
    redis.once("end", onEnd);
  });
}

/** How long start-up waits for the first connection: covers a Redis starting alongside us. */
const startupWaitMs = 10_000;

/**
 * Checks that Redis never evicts keys: an evicted balance or idempotency record is lost money or
 * a double charge. Throws unless `maxmemory-policy` is `noeviction`, or `allowEviction` is set
 * (then the policy is returned for the caller to warn about). Where CONFIG is forbidden (managed
 * Redis, ACLs) the policy cannot be known: returns `"unknown"` and the caller warns.
 *
 * On a cluster every master is asked, since each holds some trees and evicts on its own; the
 * replicas are not (by default they never evict, they apply their master's deletions). The
 * masters are those serving slots at start-up: a master added later is not checked.
 */
export async function assertNoEviction(
  client: RedisClient,
  options: { allowEviction: boolean },
): Promise<{ policy: string }> {
  await waitForReady(client, startupWaitMs);
  if (!(client instanceof Cluster)) {
    const policy = await evictionPolicy(client);
    if (evicts(policy) && !options.allowEviction) throw evictionRefused(`"${policy}"`);
    return { policy };
  }
  const masters = client.nodes("master");
  if (masters.length === 0) throw unavailable(new Error("the cluster has no master"));
  const found = await Promise.all(
    masters.map(async (node) => ({
      node: `${node.options.host}:${node.options.port}`,
      policy: await evictionPolicy(node),
    })),
  );
  const evicting = found.filter((f) => evicts(f.policy));
  if (evicting.length > 0 && !options.allowEviction) {
    throw evictionRefused(evicting.map((f) => `"${f.policy}" on ${f.node}`).join(", "));
  }
  const policies = new Set(found.map((f) => f.policy));
  const [only] = policies;
  return {
    policy:
      policies.size === 1 && only !== undefined
        ? only
        : found.map((f) => `${f.policy} on ${f.node}`).join(", "),
  };
}

/**
 * Throws when the Redis behind a single-node client is a Redis Cluster node (REDIS_CLUSTER was
 * forgotten): the client would reach only the trees in that node's slots, and every call for
 * another tree would fail with MOVED. Where INFO is forbidden the check is skipped.
 */
export async function assertNotClusterNode(redis: Redis): Promise<void> {
  await waitForReady(redis, startupWaitMs);
  let info: string;
  try {
    info = await redis.info("cluster");
  } catch (error) {
    if (error instanceof ReplyError) return;
    throw storeFailure(error);
  }
  if (/^cluster_enabled:1\r?$/m.test(info)) {
    throw new Error(
      "this Redis is a Redis Cluster node: set REDIS_CLUSTER=true to use the cluster",
    );
  }
}

/** Known to evict: anything but noeviction, except "unknown", which the caller warns about. */
function evicts(policy: string): boolean {
  return policy !== "noeviction" && policy !== "unknown";
}

/** One server's `maxmemory-policy`, or "unknown" where CONFIG is refused. */
async function evictionPolicy(redis: Redis): Promise<string> {
  try {
    const reply = (await redis.config("GET", "maxmemory-policy")) as string[];
    return reply[1] ?? "unknown";
  } catch (error) {
    if (error instanceof ReplyError) return "unknown";
    throw storeFailure(error);
  }
}

function evictionRefused(what: string): Error {
  return new Error(
    `Redis maxmemory-policy is ${what}: it may evict balances. Set it to "noeviction" ` +
      "(CONFIG SET maxmemory-policy noeviction), or allow eviction explicitly.",
  );
}
