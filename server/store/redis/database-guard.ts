import { type Redis, ReplyError } from "ioredis";

/**
 * Makes sure `redis` never serves calls on database 0 in place of the database its URL names.
 *
 * ioredis sends SELECT as each connection opens and, when Redis refuses it (`ERR DB index is out
 * of range`: the database does not exist, or SELECT is not allowed on a cluster node), only emits
 * an error and carries on, ready, on database 0. Every wallet would then be written where another
 * deployment's keys may live, and lost to this one once the URL is fixed. So a refused SELECT
 * closes its connection at once: readiness waits for a reply that comes after SELECT's, so the
 * connection is never ready, every call fails STORE_UNAVAILABLE as in any outage, and the client
 * keeps reconnecting (a Redis restarted with more databases is used again). A database that is
 * not a number, which ioredis ignores (database 0 again), is refused outright.
 *
 * @throws RangeError when the URL's database is not a non-negative integer (the client is closed).
 */
export function refuseDatabaseFallback(redis: Redis): void {
  const db: unknown = redis.options.db;
  if (db !== undefined && !(Number.isSafeInteger(db) && (db as number) >= 0)) {
    redis.disconnect();
    throw new RangeError("the database in a Redis URL must be a number: redis://host:port/<db>");
  }
  redis.on("error", (error: unknown) => {
    if (isRefusedSelect(error)) redis.disconnect(true);
  });
}

/** Whether `error` is Redis refusing the SELECT ioredis sends as a connection opens. */
export function isRefusedSelect(error: unknown): boolean {
  return (
    error instanceof ReplyError &&
    (error as Error & { command?: { name?: string } }).command?.name === "select"
  );
}
