import { type Cluster, Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import { lineHash } from "../../../client/line-hash.js";
import { CredentialIssuer } from "../../../server/credentials/credential-issuer.js";
import { rootIdFor } from "../../../server/ledger/ids.js";
import { Ledger } from "../../../server/ledger/ledger.js";
import type { ChargeLine, EventPosition } from "../../../server/ledger/types.js";
import type { EventListener } from "../../../server/store/ledger-store.js";
import { createRedisCluster, waitForReady } from "../../../server/store/redis/connect.js";
import { eventsChannel, projectRootsKey, treeKey } from "../../../server/store/redis/keys.js";
import { RedisLedgerStore } from "../../../server/store/redis/redis-ledger-store.js";
import { eventually } from "../../support/eventually.js";
import { deleteKeys, testKeyPrefix } from "../../support/key-prefix.js";
import { type OwnCluster, startOwnCluster } from "../../support/redis-cluster.js";
import { type OwnRedis, startOwnRedis } from "../../support/redis-server.js";
import {
  child,
  project,
  type RedisEnv,
  redisEnv,
  rid,
  root,
  snapshot,
  startMs,
} from "./fixture.js";

/**
 * What the Redis store adds to the events contract (docs/events.md#redis-layout): the stream and
 * its entries as stored, the hash chain as Redis holds it (and how an edit behind the store's back
 * shows), retention by stream trimming, and notifications over pub/sub, on one Redis and on a
 * cluster. The contract itself is checked on every store by test/conformance/events*.
 */

/** Records every call of a listener. */
function recorder(): { listener: EventListener; calls: [string | undefined, EventPosition?][] } {
  const calls: [string | undefined, EventPosition?][] = [];
  return {
    calls,
    listener: (rootId, position) => {
      calls.push(position === undefined ? [rootId] : [rootId, position]);
    },
  };
}

/** Waits until `calls` has an `undefined`: the subscription is in place. */
async function subscribed(calls: [string | undefined, EventPosition?][], count = 1): Promise<void> {
  await eventually(async () => {
    expect(calls.filter(([rootId]) => rootId === undefined).length).toBeGreaterThanOrEqual(count);
  });
}

function spend(env: RedisEnv, walletId: string, amount: number, metadata = {}) {
  return env.ledger.spend(project, {
    walletId,
    amount,
    service: "search",
    metadata,
    requestId: rid(),
  });
}

describe("the event log in Redis", () => {
  let env: RedisEnv | undefined;
  afterEach(async () => {
    await env?.dispose();
    env = undefined;
  });

  it("is a stream of <ms>-<seq> entries with one compact JSON field, beside eseq/ems", async () => {
    env = await redisEnv(inject("redisUrl"));
    const r = await root(env.ledger, 100);
    env.advance(5);
    const line = (await spend(env, r.id, 60)).line;
    expect(line.id).toBe(`${r.id}.c1`);
    const entries = await env.observer.xrange(treeKey(env.prefix, r.id, "events"), "-", "+");
    const at = startMs + 5;
    expect(entries.map(([id, fields]) => [id, fields[0], JSON.parse(fields[1] as string)])).toEqual(
      [
        // Ids relative to the tree: "" is the root, "c1" the line `${r.id}.c1`.
        [`${startMs}-1`, "e", { k: "wallet_created", w: "", b: "100 0 0 0 100 0" }],
        [`${at}-2`, "e", { k: "spend", w: "", b: "100 60 0 0 40 60", l: "c1" }],
        [`${at}-3`, "e", { k: "threshold_crossed", w: "", b: "100 60 0 0 40 60", x: 50 }],
      ],
    );
    const tree = await env.observer.hmget(
      treeKey(env.prefix, r.id, "tree"),
      "eseq",
      "ems",
      "lhash",
    );
    expect(tree).toEqual(["3", String(at), line.hash]);
    const wallet = await env.observer.hmget(
      treeKey(env.prefix, r.id, "wallet", r.id),
      "alerts",
      "alert_level",
      "over_alerted",
    );
    expect(wallet).toEqual(["50,80,100", "1", "0"]);
  });

  it("never runs back in time: a step with an earlier clock takes the last event's ms", async () => {
    env = await redisEnv(inject("redisUrl"));
    const r = await root(env.ledger, 100);
    env.advance(1_000);
    await spend(env, r.id, 1);
    env.advance(-600);
    await spend(env, r.id, 1);
    const read = await env.store.readEvents({ project, walletId: r.id, limit: 100, nowMs: 0 });
    expect(read.events.map((e) => [e.seq, e.ms - startMs])).toEqual([
      [1, 0],
      [2, 1_000],
      [3, 1_000],
    ]);
  });

  it("is read without working off pending work or writing anything", async () => {
    env = await redisEnv(inject("redisUrl"));
    const r = await root(env.ledger, 100);
    await env.ledger.authorize(project, {
      walletId: r.id,
      amount: 10,
      service: "llm",
      ttlSeconds: 1,
      requestId: rid(),
    });
    env.advance(5_000);
    const before = await snapshot(env.observer, env.prefix);
    const read = await env.store.readEvents({ project, walletId: r.id, limit: 100, nowMs: 0 });
    expect(read.events.map((e) => e.kind)).toEqual(["wallet_created", "hold_placed"]);
    expect(await snapshot(env.observer, env.prefix)).toEqual(before);
    // The next step that touches the tree expires the hold and appends its event.
    await env.ledger.getWallet(project, { walletId: r.id });
    const after = await env.store.readEvents({
      project,
      walletId: r.id,
      after: read.scannedTo,
      limit: 100,
      nowMs: 0,
    });
    expect(after.events.map((e) => [e.kind, e.ms])).toEqual([["expire", startMs + 5_000]]);
  });

  it("keeps about the newest maxEventsPerTree events, trimming whole stream nodes", async () => {
    env = await redisEnv(inject("redisUrl"), { eventRetention: { maxEventsPerTree: 10 } });
    const r = await root(env.ledger, 1_000_000);
    for (let i = 0; i < 300; i++) await spend(env, r.id, 1);
    const key = treeKey(env.prefix, r.id, "events");
    const length = await env.observer.xlen(key);
    // `~`: at least the newest 10, and at most a stream node (100 entries) more.
    expect(length).toBeGreaterThanOrEqual(10);
    expect(length).toBeLessThanOrEqual(110);
    const read = await env.store.readEvents({ project, walletId: r.id, limit: 100, nowMs: 0 });
    expect(read.head.seq).toBe(301);
    expect(read.firstSeq).toBe(302 - length);
    expect(read.events[0]?.seq).toBe(read.firstSeq);
  });

  it("drops events older than maxAgeMs when the tree next appends", async () => {
    env = await redisEnv(inject("redisUrl"), { eventRetention: { maxAgeMs: 60_000 } });
    const r = await root(env.ledger, 1_000_000);
    for (let i = 0; i < 300; i++) await spend(env, r.id, 1);
    const key = treeKey(env.prefix, r.id, "events");
    expect(await env.observer.xlen(key)).toBe(301);
    env.advance(60_001);
    await spend(env, r.id, 1);
    // Whole nodes of old entries went; the newest node may keep a few old ones beside the new.
    const read = await env.store.readEvents({ project, walletId: r.id, limit: 100, nowMs: 0 });
    expect(read.firstSeq).toBeGreaterThan(200);
    expect(await env.observer.xlen(key)).toBe(303 - read.firstSeq);
  });
});

describe("the hash chain in Redis", () => {
  let env: RedisEnv | undefined;
  afterEach(async () => {
    await env?.dispose();
    env = undefined;
  });

  /** Every line of the tree, oldest first. */
  async function treeLines(rootId: string): Promise<ChargeLine[]> {
    const page = await env?.ledger.listCharges(project, {
      walletId: rootId,
      includeDescendants: true,
      pageSize: 1000,
    });
    return page?.items ?? [];
  }

  it("is written by Lua byte for byte as client/line-hash.ts computes it", async () => {
    env = await redisEnv(inject("redisUrl"));
    const r = await root(env.ledger, 1000);
    const a = await child(env.ledger, r.id, 500);
    // Keys whose UTF-8 byte order differs from UTF-16 and from most locales' collation.
    await spend(env, a.id, 5, { z: "1", Z: "2", é: "3", "\u{1F600}": "4", "\uFF21": "5", a: "" });
    await env.ledger.addCredits(project, { walletId: r.id, amount: 10, requestId: rid() });
    const { hold } = await env.ledger.authorize(project, {
      walletId: a.id,
      amount: 7,
      service: "llm",
      metadata: { agent: "writer" },
      requestId: rid(),
    });
    await env.ledger.capture(project, {
      holdId: hold.id,
      amount: 3,
      metadata: { step: "2" },
      requestId: rid(),
    });
    const lines = await treeLines(r.id);
    expect(lines.map((l) => l.kind)).toEqual(["spend", "refill", "capture"]);
    let prev = "";
    for (const line of lines) {
      expect(line.prevHash).toBe(prev);
      expect(line.hash).toBe(lineHash(line));
      prev = line.hash;
    }
  });

  it("hashes a label cut inside an emoji (a lone surrogate) as JavaScript's UTF-8 has it", async () => {
    env = await redisEnv(inject("redisUrl"));
    const r = await root(env.ledger, 1000);
    const cut = "\u{1F600}\u{1F600}".slice(0, 3); // an emoji and half of the next one
    const low = "x\uDE00y";
    await spend(env, r.id, 5, { note: cut, other: low });
    // A hold with one expires (its line posted by pending work), another is captured.
    const expiring = await env.ledger.authorize(project, {
      walletId: r.id,
      amount: 3,
      service: "llm",
      metadata: { note: cut },
      ttlSeconds: 1,
      requestId: rid(),
    });
    const captured = await env.ledger.authorize(project, {
      walletId: r.id,
      amount: 3,
      service: "llm",
      metadata: { note: low },
      requestId: rid(),
    });
    env.advance(2_000);
    await env.ledger.capture(project, {
      holdId: captured.hold.id,
      amount: 2,
      metadata: { more: cut },
      requestId: rid(),
    });
    const lines = await treeLines(r.id);
    expect(lines.map((l) => [l.kind, l.holdId])).toEqual([
      ["spend", ""],
      ["expire", expiring.hold.id],
      ["capture", captured.hold.id],
    ]);
    expect(lines[0]?.metadata).toEqual({ note: cut, other: low });
    let prev = "";
    for (const line of lines) {
      expect(line.prevHash).toBe(prev);
      expect(line.hash).toBe(lineHash(line));
      prev = line.hash;
    }
  });

  it("shows a line edited in P{R}:lines: its hash no longer links to the next line", async () => {
    env = await redisEnv(inject("redisUrl"));
    const r = await root(env.ledger, 1000);
    for (const amount of [10, 20, 30]) await spend(env, r.id, amount);
    const [first, second, third] = await treeLines(r.id);
    if (first === undefined || second === undefined || third === undefined) throw new Error();
    expect(lineHash(second)).toBe(third.prevHash);

    // Someone with write access to Redis lowers the second charge, leaving the hashes alone.
    // Lines are stored compact, under their id relative to the tree: [prev, hash, id, wallet,
    // kind, amount, service, over, hold, request, created, meta], prev naming the line before.
    const linesKey = treeKey(env.prefix, r.id, "lines");
    const field = second.id.slice(r.id.length + 1);
    const stored = JSON.parse((await env.observer.hget(linesKey, field)) as string) as unknown[];
    expect([stored[0], stored[1], stored[5]]).toEqual([
      first.id.slice(r.id.length + 1),
      second.hash,
      20,
    ]);
    stored[5] = 2;
    await env.observer.hset(linesKey, field, JSON.stringify(stored));

    const edited = (await treeLines(r.id))[1] as ChargeLine;
    expect(edited.amount).toBe(2);
    // The edited line still claims its old hash, but recomputing it gives another one, which
    // is not what the next line recorded as its predecessor: the chain breaks right there.
    expect(edited.hash).toBe(second.hash);
    expect(lineHash(edited)).not.toBe(edited.hash);
    expect(lineHash(edited)).not.toBe(third.prevHash);
    // The lines before it still check out.
    expect(lineHash(first)).toBe(second.prevHash);
  });
});

describe("event notifications over pub/sub", () => {
  let env: RedisEnv | undefined;
  afterEach(async () => {
    await env?.dispose();
    env = undefined;
  });

  it("tells a project's listeners the tree and last position of each step's events", async () => {
    env = await redisEnv(inject("redisUrl"));
    const mine = recorder();
    const other = recorder();
    const off = env.store.subscribeEvents(project, mine.listener);
    const offOther = env.store.subscribeEvents("globex", other.listener);
    await subscribed(mine.calls);
    await subscribed(other.calls);
    const r = await root(env.ledger, 100);
    await spend(env, r.id, 60);
    const head = (await env.store.readEvents({ project, walletId: r.id, limit: 100, nowMs: 0 }))
      .head;
    expect(head.seq).toBe(3);
    await eventually(async () => {
      expect(mine.calls).toEqual([
        [undefined],
        [r.id, { ms: startMs, seq: 1 }],
        // The spend and its threshold_crossed: one notification, at the step's last event.
        [r.id, head],
      ]);
    });
    // Another project's channel heard nothing but its own subscription.
    expect(other.calls).toEqual([[undefined]]);
    off();
    offOther();
  });

  it("keeps one SUBSCRIBE per project, and UNSUBSCRIBEs when its last listener goes", async () => {
    const opened = await redisEnv(inject("redisUrl"));
    env = opened;
    const channel = eventsChannel(opened.prefix, project);
    const numsub = async () =>
      ((await opened.observer.pubsub("NUMSUB", channel)) as [string, number])[1];
    const first = recorder();
    const second = recorder();
    const offFirst = env.store.subscribeEvents(project, first.listener);
    const offSecond = env.store.subscribeEvents(project, second.listener);
    await subscribed(first.calls);
    await subscribed(second.calls);
    expect(await numsub()).toBe(1);
    offFirst();
    expect(await numsub()).toBe(1);
    const r = await root(env.ledger, 100);
    await eventually(async () =>
      expect(second.calls).toContainEqual([r.id, { ms: startMs, seq: 1 }]),
    );
    expect(first.calls).toEqual([[undefined]]);
    offSecond();
    await eventually(async () => expect(await numsub()).toBe(0));
  });
});

describe("event notifications across a reconnect (own redis-server)", () => {
  let own: OwnRedis;
  let env: RedisEnv;
  beforeAll(async () => {
    own = await startOwnRedis();
    env = await redisEnv(own.url);
  });
  afterAll(async () => {
    await env.dispose();
    await own.dispose();
  });

  it("calls every listener with undefined once the subscriber connection is back", async () => {
    const a = recorder();
    const b = recorder();
    const offA = env.store.subscribeEvents(project, a.listener);
    const offB = env.store.subscribeEvents("globex", b.listener);
    await subscribed(a.calls);
    await subscribed(b.calls);
    const r = await root(env.ledger, 100);
    await eventually(async () => expect(a.calls).toHaveLength(2));

    // Only the store's subscriber connection is in pub/sub mode.
    expect(await env.observer.client("KILL", "TYPE", "pubsub")).toBe(1);
    // Whatever was published while it was away is lost: both listeners must read again.
    await subscribed(a.calls, 2);
    await subscribed(b.calls, 2);
    expect(a.calls.slice(2)).toEqual([[undefined]]);
    expect(b.calls).toEqual([[undefined], [undefined]]);

    // And notifications flow again.
    await spend(env, r.id, 1);
    await eventually(async () =>
      expect(a.calls.slice(3)).toEqual([[r.id, { ms: startMs, seq: 2 }]]),
    );
    offA();
    offB();
  });
});

describe("event notifications on a Redis Cluster", () => {
  let cluster: Cluster;
  let store: RedisLedgerStore;
  let ledger: Ledger;
  const keyPrefix = testKeyPrefix();
  beforeAll(async () => {
    cluster = createRedisCluster(inject("redisClusterUrl"));
    cluster.on("error", () => {});
    store = new RedisLedgerStore(cluster, { keyPrefix });
    ledger = new Ledger(store, await CredentialIssuer.create(undefined, 60_000), {
      now: () => startMs,
    });
  });
  afterAll(async () => {
    await waitForReady(cluster, 10_000);
    await deleteKeys(cluster, keyPrefix);
    await store.close();
  });

  it("reach one subscriber from the trees of every master", async () => {
    const heard = recorder();
    const off = store.subscribeEvents(project, heard.listener);
    await subscribed(heard.calls);
    // Trees until every master holds one (their slots decide where they live).
    const roots: string[] = [];
    const masters = new Set<string>();
    while (masters.size < 3 && roots.length < 100) {
      const id = (await ledger.createWallet(project, { budget: 10, requestId: rid() })).id;
      roots.push(id);
      const slot = (await cluster.cluster("KEYSLOT", treeKey(keyPrefix, id, "tree"))) as number;
      const master = cluster.slots[slot]?.[0];
      if (master !== undefined) masters.add(master);
    }
    expect(masters.size).toBe(3);
    await eventually(async () =>
      expect(new Set(heard.calls.map(([rootId]) => rootId))).toEqual(
        new Set([undefined, ...roots]),
      ),
    );
    off();
  });
});

describe("event notifications when the subscriber's cluster node dies (own cluster)", () => {
  let own: OwnCluster;
  let cluster: Cluster;
  let store: RedisLedgerStore;
  let ledger: Ledger;
  const keyPrefix = testKeyPrefix();
  beforeAll(async () => {
    // The default node timeout (15 s): the live masters keep serving their slots meanwhile.
    own = await startOwnCluster({ masters: 3 });
    cluster = createRedisCluster(own.seedUrl);
    cluster.on("error", () => {});
    cluster.on("node error", () => {});
    store = new RedisLedgerStore(cluster, { keyPrefix });
    ledger = new Ledger(store, await CredentialIssuer.create(undefined, 60_000), {
      now: () => startMs,
    });
  }, 60_000);
  afterAll(async () => {
    await store.close();
    await own.dispose();
  });

  it("moves to another master and tells every listener to read again", async () => {
    await waitForReady(cluster, 10_000);
    const admins = own.nodes.map((node) => {
      const admin = new Redis(node.url);
      admin.on("error", () => {});
      return admin;
    });
    const address = (node: OwnRedis | undefined) => `127.0.0.1:${node?.port}`;
    // Asked of a master that stays up (set once the doomed one is known): a question queued on
    // the crashed node's connection would fail the test instead of the code under test.
    let keyslotAdmin = admins[0];
    const masterOf = async (key: string) => {
      const slot = (await keyslotAdmin?.cluster("KEYSLOT", key)) as number;
      return cluster.slots[slot]?.[0];
    };
    const probe = recorder();
    const offProbe = store.subscribeEvents(project, probe.listener);
    try {
      await subscribed(probe.calls);
      // The node the subscriber chose is the one with a pub/sub client.
      const lists = await Promise.all(
        admins.map((a) => a.call("CLIENT", "LIST", "TYPE", "pubsub")),
      );
      const chosen = own.nodes[lists.findIndex((list) => String(list).trim() !== "")];
      if (chosen === undefined) throw new Error("no subscriber connection found");
      keyslotAdmin = admins[own.nodes.findIndex((node) => node !== chosen)];
      // A project whose root listing lives on another master, which stays up.
      let tenant: string | undefined;
      for (const name of ["globex", "initech", "umbrella", "hooli", "stark", "wayne", "acme2"]) {
        if ((await masterOf(projectRootsKey(keyPrefix, name))) !== address(chosen)) tenant = name;
      }
      if (tenant === undefined) throw new Error("every listing is on the chosen master");
      const heard = recorder();
      const off = store.subscribeEvents(tenant, heard.listener);
      await subscribed(heard.calls);

      await chosen.stop({ crash: true });
      // A few reconnects fail, then another master is picked: both projects must read again.
      await subscribed(heard.calls, 2);
      await subscribed(probe.calls, 2);
      // A tree on a live master is heard through the new connection.
      let rootId: string | undefined;
      for (let i = 0; i < 100 && rootId === undefined; i++) {
        const requestId = rid();
        const id = rootIdFor(tenant, requestId);
        if ((await masterOf(treeKey(keyPrefix, id, "tree"))) !== address(chosen)) {
          rootId = (await ledger.createWallet(tenant, { budget: 10, requestId })).id;
        }
      }
      await eventually(async () =>
        expect(heard.calls).toContainEqual([rootId, { ms: startMs, seq: 1 }]),
      );
      off();
    } finally {
      for (const admin of admins) admin.disconnect();
      offProbe();
    }
  }, 60_000);
});
