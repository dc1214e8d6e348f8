import { Redis, ReplyError } from "ioredis";
import { storeFailure, unavailable } from "./script-errors.js";

/**
 * A Redis client tuned to fail closed: while Redis is unreachable every call fails at once with
 * STORE_UNAVAILABLE (nothing is queued to run, and maybe grant a spend, long after its caller
 * gave up), and the client keeps reconnecting in the background so service resumes by itself.
 * Attach an `error` listener (main logs them); without one ioredis prints them to stderr.
 */
export function createRedisClient(url: string): Redis {
  return new Redis(url, {
    // Commands issued while disconnected are refused immediately instead of being buffered.
    enableOfflineQueue: false,
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
    // Reconnect forever, 100 ms doubling to 2 s: an outage is survived without a restart, and a
    // Redis that comes back is in use within 2 s.
    retryStrategy: (attempt) => Math.min(100 * 2 ** Math.min(attempt - 1, 5), 2_000),
    // After a failover the old primary turns replica and answers READONLY: reconnect so the
    // URL (DNS, a proxy) can lead to the new primary. The failed call itself is not resent.
    reconnectOnError: (error) => error.message.startsWith("READONLY"),
  });
}

/**
 * Waits until `redis` is ready, at most `timeoutMs`, else throws STORE_UNAVAILABLE. With the
 * offline queue off, a command sent before the first connection completes would be refused, so
 * start-up (and a store's first call) waits here once.
 */
export async function waitForReady(redis: Redis, timeoutMs: number): Promise<void> {
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
 */
export async function assertNoEviction(
  redis: Redis,
  options: { allowEviction: boolean },
): Promise<{ policy: string }> {
  await waitForReady(redis, startupWaitMs);
  let policy: string;
  try {
    const reply = (await redis.config("GET", "maxmemory-policy")) as string[];
    policy = reply[1] ?? "unknown";
  } catch (error) {
    if (error instanceof ReplyError) return { policy: "unknown" };
    throw storeFailure(error);
  }
  if (policy !== "noeviction" && !options.allowEviction) {
    throw new Error(
      `Redis maxmemory-policy is "${policy}": it may evict balances. Set it to "noeviction" ` +
        "(CONFIG SET maxmemory-policy noeviction), or allow eviction explicitly.",
    );
  }
  return { policy };
}
