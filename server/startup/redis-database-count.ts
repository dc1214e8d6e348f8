import { Redis } from "ioredis";

/**
 * How many databases the Redis at `url` has (`CONFIG GET databases`, on database 0 whatever the
 * URL names), to say which ones exist when the URL's does not. Undefined when Redis cannot tell
 * within `timeoutMs` (CONFIG forbidden, as on some managed Redis, or no answer).
 */
export async function databaseCount(url: string, timeoutMs = 2_000): Promise<number | undefined> {
  const base = new URL(url);
  base.pathname = "/";
  base.searchParams.delete("db");
  const redis = new Redis(base.toString(), {
    lazyConnect: true,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
  });
  redis.on("error", () => {});
  try {
    await redis.connect();
    const [, count] = (await redis.config("GET", "databases")) as string[];
    const n = Number(count);
    return Number.isSafeInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  } finally {
    redis.disconnect();
  }
}
