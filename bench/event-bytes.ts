/**
 * What the event log costs in Redis memory (docs/events.md#retention): a tree of a root and one
 * agent wallet takes 10,000 spends like an agent's (a service, an `agent` label, a UUID request
 * id), then Redis reports MEMORY USAGE (every element counted: SAMPLES 0) of the tree's event
 * stream and of its lines hash, each divided by its entries.
 *
 *   REDIS_URL=redis://127.0.0.1:6379 npx tsx bench/event-bytes.ts [spends]
 *
 * Runs under a fresh random key prefix and deletes its keys afterwards (never FLUSH).
 */
import { randomBytes, randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { CredentialIssuer } from "../server/credentials/credential-issuer.js";
import { Ledger } from "../server/ledger/ledger.js";
import { createRedisClient } from "../server/store/redis/connect.js";
import { treeKey } from "../server/store/redis/keys.js";
import { RedisLedgerStore } from "../server/store/redis/redis-ledger-store.js";

const spends = Number(process.argv[2] ?? 10_000);
const url = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const prefix = `tgbench:${randomBytes(6).toString("hex")}:`;
const project = "acme";

const store = new RedisLedgerStore(createRedisClient(url), { keyPrefix: prefix });
const ledger = new Ledger(store, await CredentialIssuer.create(undefined, 60_000));
const observer = new Redis(url);
try {
  const root = await ledger.createWallet(project, {
    name: "task",
    budget: 1_000_000_000,
    requestId: randomUUID(),
  });
  const agent = await ledger.createWallet(project, {
    parentId: root.id,
    name: "researcher",
    budget: 500_000_000,
    requestId: randomUUID(),
  });
  for (let i = 0; i < spends; i++) {
    await ledger.spend(project, {
      walletId: agent.id,
      amount: 1 + (i % 50),
      service: "web_search",
      metadata: { agent: "researcher" },
      requestId: randomUUID(),
    });
  }
  const events = treeKey(prefix, root.id, "events");
  const lines = treeKey(prefix, root.id, "lines");
  const eventCount = await observer.xlen(events);
  const lineCount = await observer.hlen(lines);
  const eventBytes = Number(await observer.memory("USAGE", events, "SAMPLES", 0));
  const lineBytes = Number(await observer.memory("USAGE", lines, "SAMPLES", 0));
  const [, sample] = (await observer.xrevrange(events, "+", "-", "COUNT", 1))[0] ?? [];
  const info = await observer.info("server");
  console.log(`redis ${/redis_version:(\S+)/.exec(info)?.[1]}, ${spends} spends`);
  console.log(`event stream: ${eventCount} entries, ${eventBytes} bytes`);
  console.log(`  ${(eventBytes / eventCount).toFixed(1)} bytes per event; an entry: ${sample}`);
  console.log(`lines hash: ${lineCount} lines, ${lineBytes} bytes`);
  console.log(
    `  ${(lineBytes / lineCount).toFixed(1)} bytes per line; a line: ${await observer.hget(lines, `c${spends + 1}`)}`,
  );
} finally {
  let cursor = "0";
  do {
    const [next, keys] = await observer.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
    cursor = next;
    if (keys.length > 0) await observer.del(...keys);
  } while (cursor !== "0");
  observer.disconnect();
  await store.close();
}
