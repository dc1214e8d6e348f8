import { Redis } from "ioredis";

/**
 * The error of one connection attempt to the single node at `url`, or undefined if it connects.
 * For a Redis Cluster: ioredis's cluster client reports a seed it cannot use only as "Connection
 * is closed." (the slot refresh's failure), whatever the cause, so start-up asks the seed itself
 * to learn whether it refused the connection, the host does not resolve, the password is wrong or
 * TLS failed. Its first error is the telling one (a refused password also closes the connection).
 */
export async function seedConnectionError(
  url: string,
  timeoutMs = 2_000,
): Promise<Error | undefined> {
  const seed = new Redis(url, {
    lazyConnect: true,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
  });
  let first: Error | undefined;
  seed.on("error", (error: Error) => {
    first ??= error;
  });
  try {
    await seed.connect();
    return first;
  } catch (error) {
    return first ?? (error instanceof Error ? error : new Error(String(error)));
  } finally {
    seed.disconnect();
  }
}
