import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type OwnRedis, startOwnRedis } from "../../support/redis-server.js";
import { child, commandStats, project, type RedisEnv, redisEnv, rid, root } from "./fixture.js";

/**
 * Round trips per operation, counted by Redis itself (INFO commandstats on a redis-server this
 * file owns, so no other test's traffic is counted). Commands a script runs inside Redis are
 * counted too; they cost no round trip but show what each operation does.
 */
describe("Redis commands per operation (INFO commandstats)", () => {
  let own: OwnRedis;
  let env: RedisEnv;
  let walletId: string;
  let rootId: string;

  beforeAll(async () => {
    own = await startOwnRedis();
    env = await redisEnv(own.url);
    const r = await root(env.ledger, 10_000);
    rootId = r.id;
    walletId = (await child(env.ledger, r.id, 5_000)).id;
    // ioredis sends each script's first call on a connection as EVAL (loading it), then EVALSHA:
    // warm every script up so the measurements see the steady state.
    await spend();
    const hold = await authorize();
    await env.ledger.capture(project, { holdId: hold, amount: 1, requestId: rid() });
    await env.ledger.void(project, { holdId: await authorize(), requestId: rid() });
    await env.ledger.addCredits(project, { walletId, amount: 1, requestId: rid() });
    await env.ledger.getWallet(project, { walletId });
    await env.ledger.getReceipt(project, { walletId });
    await env.ledger.listCharges(project, { walletId });
    await env.ledger.listWallets(project, { parentId: rootId });
    await env.ledger.listWallets(project, {});
    const spare = await child(env.ledger, rootId, 1);
    await env.ledger.closeWallet(project, { walletId: spare.id, requestId: rid() });
  });
  afterAll(async () => {
    await env.dispose();
    await own.dispose();
  });

  function spend() {
    return env.ledger.spend(project, {
      walletId,
      amount: 7,
      service: "search",
      metadata: { agent: "researcher" },
      requestId: rid(),
    });
  }

  async function authorize(): Promise<string> {
    const { hold } = await env.ledger.authorize(project, {
      walletId,
      amount: 10,
      service: "llm",
      requestId: rid(),
    });
    return hold.id;
  }

  /** Commands Redis executed during `op`, by name (the observer's own RESETSTAT left out). */
  async function measure(op: () => Promise<unknown>): Promise<Record<string, number>> {
    await env.observer.config("RESETSTAT");
    await op();
    const stats = await commandStats(env.observer);
    stats.delete("config|resetstat");
    return Object.fromEntries([...stats].map(([name, s]) => [name, s.calls]));
  }

  /** The client's round trips: the EVAL/EVALSHA calls (everything else ran inside a script). */
  function roundTrips(stats: Record<string, number>): Record<string, number> {
    return Object.fromEntries(
      Object.entries(stats).filter(([name]) => name === "evalsha" || name === "eval"),
    );
  }

  it("a spend is one EVALSHA, which runs 34 commands inside Redis (depth 2)", async () => {
    const stats = await measure(spend);
    expect(stats).toEqual({
      evalsha: 1,
      // find the wallet: the tree (owner, a close under way, the event clock and the chain's
      // head), a batch of due holds (none), the wallet (with its alert state); its request id;
      // and the parent's budget alert state (budget, thresholds, level): one per ancestor
      hmget: 3,
      zrangebyscore: 1,
      // the 2^53 bound: the tree's spent and held; the request id's record
      hget: 3,
      // the limit on distinct names: are the service and the agent known to the root?
      zscore: 2,
      // spent; the id counter; the event counter; own calls; then per covering wallet (2):
      // total, calls, and the calls of the service and the agent
      hincrby: 12,
      // per covering wallet: the credits of the service and the agent (ranked breakdowns)
      zincrby: 4,
      // the line; the chain's head and the event clock on the tree; the idempotency record
      hset: 3,
      rpush: 3, // own list, subtree list of the wallet and of the root
      // the spend event (trimmed to the newest 10,000), the age trim, the notification
      xadd: 1,
      xtrim: 1,
      publish: 1,
    });
  });

  it("a spend that appends alerts on two levels is still one EVALSHA", async () => {
    // Another project's tree, so the root listing counted below is unchanged.
    const team = await env.ledger.createWallet("other", {
      budget: 100,
      hardCap: false,
      requestId: rid(),
    });
    const member = await env.ledger.createWallet("other", {
      parentId: team.id,
      budget: 10,
      requestId: rid(),
    });
    const stats = await measure(() =>
      env.ledger.spend("other", {
        walletId: member.id,
        amount: 90,
        service: "x",
        requestId: rid(),
      }),
    );
    expect(roundTrips(stats)).toEqual({ evalsha: 1 });
    // spend; soft_cap_exceeded; the member's 50, 80 and 100 %; the team's 50 and 80 %: seven
    // events, one notification. The team's alert state was one HMGET; its full figures one
    // more (load_wallet) because it crossed.
    expect([stats.xadd, stats.publish, stats.hmget]).toEqual([7, 1, 4]);
  });

  it("a replayed spend is one EVALSHA that writes nothing", async () => {
    const first = await spend();
    const stats = await measure(() =>
      env.ledger.spend(project, {
        walletId,
        amount: 7,
        service: "search",
        metadata: { agent: "researcher" },
        requestId: first.line.requestId,
      }),
    );
    // The tree, due holds, the wallet, the request's record, the first outcome's line and the
    // hash it links to (the line before it holds it).
    expect(stats).toEqual({ evalsha: 1, hmget: 3, zrangebyscore: 1, hget: 2 });
  });

  it("every other operation on a tree is one EVALSHA", async () => {
    const hold = await authorize();
    const voidable = await authorize();
    const ops: [string, () => Promise<unknown>][] = [
      ["authorize", authorize],
      ["capture", () => env.ledger.capture(project, { holdId: hold, amount: 3, requestId: rid() })],
      ["void", () => env.ledger.void(project, { holdId: voidable, requestId: rid() })],
      [
        "addCredits",
        () => env.ledger.addCredits(project, { walletId, amount: 5, requestId: rid() }),
      ],
      ["createChild", () => child(env.ledger, walletId, 10)],
      ["getWallet", () => env.ledger.getWallet(project, { walletId })],
      ["getReceipt", () => env.ledger.getReceipt(project, { walletId })],
      [
        "listCharges",
        () => env.ledger.listCharges(project, { walletId, includeDescendants: true }),
      ],
      ["listWallets", () => env.ledger.listWallets(project, { parentId: rootId })],
    ];
    for (const [name, op] of ops) {
      expect({ name, trips: roundTrips(await measure(op)) }).toEqual({
        name,
        trips: { evalsha: 1 },
      });
    }
    // An authorize files its hold for expiry and under its wallet (two ZADDs in the script). When
    // the hold is its tree's first to fall due it also puts the tree on the sweeper's schedule
    // (its own slot): one ZADD round trip more. A later hold finds the tree scheduled already.
    // (Another project's tree, so the root listing counted below is unchanged.)
    const fresh = await env.ledger.createWallet("other", { budget: 100, requestId: rid() });
    const first = () =>
      env.ledger.authorize("other", {
        walletId: fresh.id,
        amount: 1,
        service: "x",
        requestId: rid(),
      });
    const scheduling = await measure(first);
    expect([scheduling.evalsha, scheduling.zadd]).toEqual([1, 3]);
    const notScheduling = await measure(first);
    expect([notScheduling.evalsha, notScheduling.zadd]).toEqual([1, 2]);
    const spare = await child(env.ledger, rootId, 1);
    const close = () => env.ledger.closeWallet(project, { walletId: spare.id, requestId: rid() });
    expect(roundTrips(await measure(close))).toEqual({ evalsha: 1 });
  });

  it("creating a root is two (listing, tree); listing roots is one plus one per root", async () => {
    expect(roundTrips(await measure(() => root(env.ledger, 5)))).toEqual({ evalsha: 2 });
    // Roots so far: the fixture's and the one just created.
    expect(roundTrips(await measure(() => env.ledger.listWallets(project, {})))).toEqual({
      evalsha: 3,
    });
  });
});
