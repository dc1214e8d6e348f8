import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import { createRedisClient } from "../../../server/store/redis/connect.js";
import { RedisLedgerStore } from "../../../server/store/redis/redis-ledger-store.js";
import { type OwnRedis, startOwnRedis } from "../../support/redis-server.js";
import { child, keysUnder, project, type RedisEnv, redisEnv, rid, root } from "./fixture.js";

/**
 * Every key of a wallet tree carries the root id as its hash tag, so every script touches one
 * cluster slot and the store runs on Redis Cluster unchanged.
 */

/** The part of a key Redis Cluster hashes: the first non-empty `{...}`, else the whole key. */
function hashTag(key: string): string {
  const open = key.indexOf("{");
  const close = open === -1 ? -1 : key.indexOf("}", open + 1);
  return close > open + 1 ? key.slice(open + 1, close) : key;
}

/**
 * Touches every kind of key: a three-level tree, a spend, a hold that expires, one captured,
 * one voided, a refill, an allocation and a close. Returns the root id and the hold ids.
 */
async function workload(env: RedisEnv) {
  const { ledger } = env;
  const r = await root(ledger, 1000);
  const a = await child(ledger, r.id, 300);
  const b = await child(ledger, a.id, 100);
  await ledger.spend(project, {
    walletId: b.id,
    amount: 10,
    service: "search",
    metadata: { agent: "researcher" },
    requestId: rid(),
  });
  const expiring = await ledger.authorize(project, {
    walletId: a.id,
    amount: 20,
    service: "llm",
    ttlSeconds: 1,
    requestId: rid(),
  });
  env.advance(2_000);
  const captured = await ledger.authorize(project, {
    walletId: a.id,
    amount: 30,
    service: "llm",
    requestId: rid(),
  });
  await ledger.capture(project, { holdId: captured.hold.id, amount: 25, requestId: rid() });
  const voided = await ledger.authorize(project, {
    walletId: b.id,
    amount: 5,
    service: "scrape",
    requestId: rid(),
  });
  await ledger.void(project, { holdId: voided.hold.id, requestId: rid() });
  await ledger.addCredits(project, { walletId: r.id, amount: 50, requestId: rid() });
  await ledger.addCredits(project, { walletId: a.id, amount: 40, requestId: rid() });
  await ledger.getReceipt(project, { walletId: r.id });
  await ledger.listCharges(project, { walletId: r.id, includeDescendants: true });
  await ledger.listWallets(project, {});
  await ledger.closeWallet(project, { walletId: a.id, requestId: rid() });
  return { r, a, b, holds: [expiring.hold.id, captured.hold.id, voided.hold.id] };
}

describe("key layout", () => {
  let env: RedisEnv | undefined;
  afterEach(async () => {
    await env?.dispose();
    env = undefined;
  });

  it("puts every key of a tree under the root id's hash tag, and nothing else", async () => {
    env = await redisEnv(inject("redisUrl"));
    const { r, a, b, holds } = await workload(env);
    const P = env.prefix;
    const T = `${P}{${r.id}}:`;
    // One idempotency record per mutation, in the tree's one hash: the root's create and the 11
    // after it. No key of its own per request.
    expect(await env.observer.hlen(`${T}idem`)).toBe(12);
    const walletKeys = (id: string, kinds: string[]) => kinds.map((k) => `${T}w:${id}${k}`);
    const breakdowns = [":svc", ":svc:n", ":agent", ":agent:n"];
    const expected = [
      `${P}p:{${project}}:roots`,
      // The sweeper's schedule: the tree went on it with its first hold.
      `${P}{sweep}:due`,
      `${T}tree`,
      `${T}idem`,
      `${T}lines`,
      `${T}events`,
      // Every hold was resolved, so the open-hold sets are empty and Redis dropped them, and
      // the close is done, so its stack is gone too.
      ...holds.map((h) => `${T}h:${h}`),
      ...walletKeys(r.id, ["", ":children", ":lines", ":sublines", ...breakdowns]),
      ...walletKeys(a.id, ["", ":children", ":lines", ":sublines", ...breakdowns]),
      ...walletKeys(b.id, ["", ":lines", ":sublines", ...breakdowns]),
    ];
    const keys = await keysUnder(env.observer, P);
    expect(keys).toEqual(expected.sort());
    expect(new Set(keys.map(hashTag))).toEqual(new Set([r.id, project, "sweep"]));
  });

  it("gives each tree its own tag and each project its own listing", async () => {
    env = await redisEnv(inject("redisUrl"));
    const first = await root(env.ledger, 10);
    const second = await root(env.ledger, 20);
    const other = await env.ledger.createWallet("globex", { budget: 5, requestId: rid() });
    const tags = (await keysUnder(env.observer, env.prefix)).map(hashTag);
    // The tree, the root wallet, the tree's idempotency records and the event log.
    expect(tags.filter((t) => t === first.id)).toHaveLength(4);
    expect(tags.filter((t) => t === second.id)).toHaveLength(4);
    expect(tags.filter((t) => t === other.id)).toHaveLength(4);
    expect(new Set(tags)).toEqual(new Set([first.id, second.id, other.id, project, "globex"]));
    expect(await env.observer.zrange(`${env.prefix}p:{acme}:roots`, 0, -1)).toEqual([
      first.id,
      second.id,
    ]);
  });

  it("stores amounts near 2^53 as exact integers", async () => {
    env = await redisEnv(inject("redisUrl"));
    const max = Number.MAX_SAFE_INTEGER;
    const r = await root(env.ledger, max);
    await env.ledger.spend(project, {
      walletId: r.id,
      amount: max - 1,
      service: "x",
      requestId: rid(),
    });
    const wallet = await env.observer.hmget(`${env.prefix}{${r.id}}:w:${r.id}`, "budget", "spent");
    expect(wallet).toEqual(["9007199254740991", "9007199254740990"]);
  });

  it("refuses a key prefix that would steal the hash tag", () => {
    const redis = createRedisClient(inject("redisUrl"));
    try {
      expect(() => new RedisLedgerStore(redis, { keyPrefix: "tg{x}:" })).toThrow(RangeError);
    } finally {
      redis.disconnect();
    }
  });
});

describe("one slot per script (MONITOR on an own redis-server)", () => {
  let own: OwnRedis;
  beforeAll(async () => {
    own = await startOwnRedis();
  });
  afterAll(async () => {
    await own.dispose();
  });

  it("every command a script runs touches only keys with the hash tag of its KEYS", async () => {
    const env = await redisEnv(own.url);
    const monitor = await env.observer.monitor();
    const seen: { source: string; args: string[] }[] = [];
    monitor.on("monitor", (_time: string, args: string[], source: string) => {
      seen.push({ source, args });
    });
    try {
      await workload(env);
      // MONITOR is asynchronous: a final marker command tells us everything before it arrived.
      await env.observer.echo("end-of-workload");
      await expect.poll(() => seen.some((s) => s.args[1] === "end-of-workload")).toBe(true);
    } finally {
      monitor.disconnect();
    }

    let scriptTag: string | undefined;
    let scripts = 0;
    let inner = 0;
    let publishes = 0;
    for (const { source, args } of seen) {
      const [name = "", ...rest] = args;
      if (source !== "lua") {
        // A client command: a script (EVAL / EVALSHA sha numkeys key...) opens a new group.
        scriptTag = undefined;
        if (name === "evalsha" || name === "eval") {
          const declared = rest.slice(2, 2 + Number(rest[1]));
          expect(declared.length).toBeGreaterThan(0);
          scriptTag = hashTag(declared[0] as string);
          for (const key of declared) expect(hashTag(key)).toBe(scriptTag);
          scripts += 1;
        }
        continue;
      }
      expect(scriptTag).toBeDefined();
      if (name.toLowerCase() === "publish") {
        // Not a key: the project's event channel, which every node of a cluster hears.
        expect(rest[0]).toBe(`${env.prefix}events:${project}`);
        expect(rest[1]).toMatch(new RegExp(`^${scriptTag} \\d+-\\d+$`));
        publishes += 1;
        continue;
      }
      const keys = (await env.observer.call("COMMAND", "GETKEYS", ...args)) as string[];
      for (const key of keys) expect(hashTag(key)).toBe(scriptTag);
      inner += 1;
    }
    // 15 operations, one script each, but the root create and the root listing take two.
    expect(scripts).toBe(17);
    // Commands the scripts ran inside Redis, every one of them checked above.
    // One PUBLISH per script that appended events: the 12 mutations, and the expiry the
    // second authorize worked off before placing its hold. (ListCharges reads the gateway's
    // failure records with its lines: one HMGET more than before the gateway; and, since lines
    // name the line before them instead of copying its hash, one HMGET more for those hashes.)
    expect({ inner, publishes }).toEqual({ inner: 357, publishes: 13 });
    await env.dispose();
  });
});
