import { randomBytes } from "node:crypto";
import { Cluster, type Redis } from "ioredis";

/** A key prefix no other test (or deployment) uses. */
export function testKeyPrefix(): string {
  return `tgtest:${randomBytes(6).toString("hex")}:`;
}

/**
 * Deletes every key under `prefix` (SCAN, never FLUSH: the server may be shared). On a cluster
 * each master is scanned (SCAN sees one node's keys) and keys are deleted one by one, since a
 * DEL of several keys in different slots is refused (CROSSSLOT) even on one node.
 */
export async function deleteKeys(redis: Redis | Cluster, prefix: string): Promise<void> {
  if (!(redis instanceof Cluster)) {
    await deleteNodeKeys(redis, prefix, (keys) => redis.del(...keys));
    return;
  }
  await Promise.all(
    redis.nodes("master").map((node) =>
      deleteNodeKeys(node, prefix, async (keys) => {
        const pipeline = node.pipeline();
        for (const key of keys) pipeline.del(key);
        for (const [error] of (await pipeline.exec()) ?? []) if (error) throw error;
      }),
    ),
  );
}

async function deleteNodeKeys(
  node: Redis,
  prefix: string,
  del: (keys: string[]) => Promise<unknown>,
): Promise<void> {
  let cursor = "0";
  do {
    const [next, keys] = await node.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
    cursor = next;
    if (keys.length > 0) await del(keys);
  } while (cursor !== "0");
}
