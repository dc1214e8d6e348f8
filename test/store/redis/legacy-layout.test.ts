import { afterEach, describe, expect, inject, it } from "vitest";
import { lineHash } from "../../../client/line-hash.js";
import { treeKey } from "../../../server/store/redis/keys.js";
import { project, type RedisEnv, redisEnv, rid, root } from "./fixture.js";

/**
 * Trees written before the compact layout (script version 3): lines as JSON objects under their
 * full id, line lists of full ids, one idempotency record per request as a JSON string with a TTL,
 * and no `fmt` on the tree. Version 4 must read them as they are: list and replay their lines,
 * answer a retried request from its old record, and go on writing new lines into the same chain.
 * The test writes a tree with today's code, then rewrites it into the old layout by hand.
 */
describe("trees written before the compact layout", () => {
  let env: RedisEnv | undefined;
  afterEach(async () => {
    await env?.dispose();
    env = undefined;
  });

  it("are read, replayed and extended as they are", async () => {
    env = await redisEnv(inject("redisUrl"));
    const { ledger, observer, prefix } = env;
    const r = await root(ledger, 1000);
    const firstRequest = rid();
    const first = await ledger.spend(project, {
      walletId: r.id,
      amount: 10,
      service: "search",
      metadata: { agent: "a" },
      requestId: firstRequest,
    });
    const second = await ledger.spend(project, {
      walletId: r.id,
      amount: 20,
      service: "llm",
      requestId: rid(),
    });

    // Rewrite into the old layout.
    const tree = treeKey(prefix, r.id, "tree");
    const linesKey = treeKey(prefix, r.id, "lines");
    const idem = treeKey(prefix, r.id, "idempotency");
    // Version 3 knew neither the layout mark nor the chain head's line id.
    await observer.hdel(tree, "fmt", "lid");
    for (const line of [first.line, second.line]) {
      const field = line.id.slice(r.id.length + 1);
      await observer.hdel(linesKey, field);
      await observer.hset(
        linesKey,
        line.id,
        JSON.stringify({
          id: line.id,
          wallet: line.walletId,
          kind: line.kind,
          amount: String(line.amount),
          service: line.service,
          meta: JSON.stringify(line.metadata),
          over: line.overBudget ? "1" : "0",
          hold: line.holdId,
          request: line.requestId,
          created: String(line.createdAtMs),
          prev: line.prevHash,
          hash: line.hash,
        }),
      );
    }
    for (const list of ["ownLines", "subtreeLines"] as const) {
      const key = treeKey(prefix, r.id, list, r.id);
      await observer.del(key);
      await observer.rpush(key, first.line.id, second.line.id);
    }
    const record = (await observer.hget(idem, firstRequest)) as string;
    const [expires, fingerprint] = record.split(" ");
    await observer.del(idem);
    await observer.set(
      treeKey(prefix, r.id, "legacyIdempotency", firstRequest),
      JSON.stringify({ fingerprint, expires, line: first.line.id, remaining: "990" }),
      "PX",
      60_000,
    );

    // A retry of the first spend is answered from its old record, with its old line.
    const retried = await ledger.spend(project, {
      walletId: r.id,
      amount: 10,
      service: "search",
      metadata: { agent: "a" },
      requestId: firstRequest,
    });
    expect(retried).toMatchObject({ line: first.line, remaining: 990 });

    // A new spend goes on the same chain, stored the new way.
    const third = await ledger.spend(project, {
      walletId: r.id,
      amount: 5,
      service: "search",
      requestId: rid(),
    });
    expect(third.line.prevHash).toBe(second.line.hash);
    expect(await observer.hexists(linesKey, third.line.id.slice(r.id.length + 1))).toBe(1);

    // Listing mixes both forms, in order, and every hash still checks out.
    const page = await ledger.listCharges(project, { walletId: r.id });
    expect(page.items).toEqual([first.line, second.line, third.line]);
    let prev = "";
    for (const line of page.items) {
      expect(line.prevHash).toBe(prev);
      expect(lineHash(line)).toBe(line.hash);
      prev = line.hash;
    }

    // The event log finds old and new lines alike.
    const read = await env.store.readEvents({ project, walletId: r.id, limit: 100, nowMs: 0 });
    const lineIds = read.events.flatMap((e) => (e.line === undefined ? [] : [e.line.id]));
    expect(lineIds).toEqual([first.line.id, second.line.id, third.line.id]);
    expect(await ledger.getWallet(project, { walletId: r.id })).toMatchObject({ spent: 35 });
  });

  it("keep the chain whole when an older writer moved the head without naming it", async () => {
    env = await redisEnv(inject("redisUrl"));
    const { ledger, observer, prefix } = env;
    const r = await root(ledger, 1000);
    const spend = (amount: number) =>
      ledger.spend(project, { walletId: r.id, amount, service: "s", requestId: rid() });
    const first = await spend(1);

    // Scripts v3 on the same data append a line as they did: an object under its full id, the
    // chain head's hash moved, `lid` left alone.
    const tree = treeKey(prefix, r.id, "tree");
    const older = {
      id: `${r.id}.c900`,
      walletId: r.id,
      kind: "spend" as const,
      amount: 2,
      service: "s",
      overBudget: false,
      holdId: "",
      requestId: rid(),
      createdAtMs: first.line.createdAtMs,
      metadata: {},
      prevHash: first.line.hash,
    };
    const olderHash = lineHash(older);
    await observer.hset(
      treeKey(prefix, r.id, "lines"),
      older.id,
      JSON.stringify({
        id: older.id,
        wallet: older.walletId,
        kind: older.kind,
        amount: "2",
        service: older.service,
        meta: "{}",
        over: "0",
        hold: "",
        request: older.requestId,
        created: String(older.createdAtMs),
        prev: older.prevHash,
        hash: olderHash,
      }),
    );
    for (const list of ["ownLines", "subtreeLines"] as const) {
      await observer.rpush(treeKey(prefix, r.id, list, r.id), older.id);
    }
    await observer.hset(tree, "lhash", olderHash);

    // The next line links to the older writer's line, and says so however it is read back.
    const third = await spend(3);
    expect(third.line.prevHash).toBe(olderHash);
    const page = await ledger.listCharges(project, { walletId: r.id });
    expect(page.items.map((l) => l.amount)).toEqual([1, 2, 3]);
    let prev = "";
    for (const line of page.items) {
      expect(line.prevHash).toBe(prev);
      expect(lineHash(line)).toBe(line.hash);
      prev = line.hash;
    }
  });
});
