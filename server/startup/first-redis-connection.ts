import { Cluster } from "ioredis";
import type { Logger } from "../logger.js";
import type { RedisClient } from "../store/redis/connect.js";
import { redactUrl } from "./redacted-url.js";
import { redisFailureCause } from "./redis-failure-cause.js";
import { seedConnectionError } from "./seed-probe.js";
import { StartError } from "./start-error.js";

/**
 * How long start-up waits for a Redis that may yet answer (a connect timeout, a reset, a Redis
 * loading its dataset): long enough for a Redis that is slow to accept, short enough that a
 * misconfigured deployment fails its start instead of hanging.
 */
export const firstConnectionWaitMs = 10_000;

/**
 * Waits for the store client's first connection at start-up, failing as soon as the cause is one
 * waiting will not fix ({@link redisFailureCause}): a {@link StartError} naming REDIS_URL (its
 * password redacted) and the cause, in one line. A failure that may pass is logged once, at
 * `warn`, and waited out for `timeoutMs`; if the client is still not ready then, the error names
 * the last failure seen. A cluster client tells only that its seed closed the connection, so on
 * a cluster the seed is asked directly, once, why ({@link seedConnectionError}).
 */
export async function awaitFirstRedisConnection(
  redis: RedisClient,
  url: string,
  logger: Logger,
  timeoutMs = firstConnectionWaitMs,
): Promise<void> {
  if (redis.status === "ready") return;
  const where = `REDIS_URL ${redactUrl(url)}`;
  await new Promise<void>((resolve, reject) => {
    let settled = false;
    let warned = false;
    let last: Error | undefined;
    let seedAsked = false;
    const finish = (failure?: StartError) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      redis.off("error", onError);
      redis.off("ready", onReady);
      redis.off("end", onEnd);
      if (failure === undefined) resolve();
      else reject(failure);
    };
    const onError = (error: Error) => {
      if (redis instanceof Cluster) {
        if (seedAsked) return;
        seedAsked = true;
        void seedConnectionError(url).then((seedError) => explain(seedError ?? error));
        return;
      }
      explain(error);
    };
    const explain = (seen: Error) => {
      last = seen;
      redisFailureCause(seen, url).then(
        (cause) => {
          if (cause !== undefined) {
            finish(new StartError(`${where}: ${cause}`, { cause: seen }));
          } else if (!warned && !settled) {
            // Said once, so a slow start is not silent; the outcome is the start's own line.
            warned = true;
            logger.warn(
              { err: seen, redis: redactUrl(url), waitMs: timeoutMs },
              "Redis not ready yet: waiting for it",
            );
          }
        },
        () => {},
      );
    };
    const onReady = () => finish();
    const onEnd = () => finish(new StartError(`${where}: the Redis connection was closed`));
    const timer = setTimeout(() => {
      const why = last === undefined ? "" : ` (last error: ${last.message})`;
      finish(new StartError(`${where}: Redis was not ready within ${timeoutMs / 1000} s${why}`));
    }, timeoutMs);
    redis.on("error", onError);
    redis.once("ready", onReady);
    redis.once("end", onEnd);
    // A lazyConnect client connects on its first command; start it here, as waitForReady does.
    if (redis.status === "wait") redis.connect().catch(() => {});
  });
}
