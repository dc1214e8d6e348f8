import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";

/** A key prefix no other test (or deployment) uses. */
export function testKeyPrefix(): string {
  return `tgtest:${randomBytes(6).toString("hex")}:`;
}

/** Deletes every key under `prefix` (SCAN, never FLUSH: the server may be shared). */
export async function deleteKeys(redis: Redis, prefix: string): Promise<void> {
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== "0");
}
