import { credentials } from "@grpc/grpc-js";
import { type Cluster, Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { WalletServiceClient } from "../../../gen/ts-proto/tollgate/v1/wallet_service.js";
import { CredentialIssuer } from "../../../server/credentials/credential-issuer.js";
import { Ledger } from "../../../server/ledger/ledger.js";
import type { WalletView } from "../../../server/ledger/types.js";
import {
  assertNoEviction,
  assertNotClusterNode,
  createRedisClient,
  createRedisCluster,
  waitForReady,
} from "../../../server/store/redis/connect.js";
import { RedisLedgerStore } from "../../../server/store/redis/redis-ledger-store.js";
import {
  credentialTtlMs,
  expectRefused,
  type FakeClock,
  fakeClock,
  otherProject,
  project,
  rid,
} from "../../conformance/harness.js";
import { expectTreeInvariants } from "../../conformance/tree-invariants.js";
import { call, createRequest } from "../../rpc/harness.js";
import { eventually } from "../../support/eventually.js";
import { testKeyPrefix } from "../../support/key-prefix.js";
import { exitOf, type Started, startMain } from "../../support/main-process.js";
import { type OwnCluster, startOwnCluster } from "../../support/redis-cluster.js";
import { freePort } from "../../support/redis-server.js";
import { countBy, keyPlacement, runTree } from "./cluster-workload.js";

/**
 * docs/architecture.md#one-hash-tag-per-tree says every key of a tree shares one hash tag, so the store runs unchanged on Redis
 * Cluster. This proves it on a real 3-master cluster this file starts (and tears down): trees land
 * on different masters, every script of a real workload runs on the master of its tree's slot, the
 * root listing crosses slots, `npm start` with REDIS_CLUSTER=true serves from it (and refuses a
 * cluster node without it), and a master going down fails its own trees closed, only those.
 */

/**
 * Trees per workload: enough to spread over the masters. Their ids are fixed (they hash project
 * and request id), so where they land is too; the test checks it rather than assumes it.
 */
const treeCount = 6;

describe("Redis Cluster (3 masters, own redis-server processes)", () => {
  let own: OwnCluster | undefined;
  let cluster: Cluster | undefined;
  let store: RedisLedgerStore | undefined;
  /** Plain clients of each node, for looking behind the store: keys, slots, configuration. */
  let admins: Redis[] = [];
  let ledger: Ledger;
  let clock: FakeClock;
  const keyPrefix = testKeyPrefix();

  beforeAll(async () => {
    // A short node timeout so the last case can watch the cluster mark a killed master failed.
    own = await startOwnCluster({ masters: 3, nodeTimeoutMs: 3_000 });
    cluster = createRedisCluster(own.seedUrl);
    // The store maps failures itself; listeners only keep ioredis from printing them.
    cluster.on("error", () => {});
    cluster.on("node error", () => {});
    store = new RedisLedgerStore(cluster, { keyPrefix });
    clock = fakeClock();
    ledger = new Ledger(store, await CredentialIssuer.create(undefined, credentialTtlMs), {
      now: clock.now,
    });
    admins = own.nodes.map((node) => {
      const admin = new Redis(node.url);
      // One node is stopped by the last test: its admin retries quietly until the end.
      admin.on("error", () => {});
      return admin;
    });
  }, 60_000);

  afterAll(async () => {
    for (const admin of admins) admin.disconnect();
    await store?.close();
    await own?.dispose();
  });

  it("sees every master and checks maxmemory-policy on each of them", async () => {
    const client = cluster as Cluster;
    await waitForReady(client, 10_000);
    const ports = own?.nodes.map((node) => node.port) ?? [];
    expect(
      client
        .nodes("master")
        .map((node) => node.options.port)
        .sort(),
    ).toEqual([...ports].sort());
    expect(await assertNoEviction(client, { allowEviction: false })).toEqual({
      policy: "noeviction",
    });

    // One evicting master is enough to lose a tree's balances.
    const [, , third] = admins;
    await third?.config("SET", "maxmemory-policy", "allkeys-lru");
    try {
      const evicting = `127.0.0.1:${ports[2]}`;
      await expect(assertNoEviction(client, { allowEviction: false })).rejects.toThrow(
        `Redis maxmemory-policy is "allkeys-lru" on ${evicting}: it may evict balances.`,
      );
      const { policy } = await assertNoEviction(client, { allowEviction: true });
      expect(policy.split(", ").sort()).toEqual(
        [
          `noeviction on 127.0.0.1:${ports[0]}`,
          `noeviction on 127.0.0.1:${ports[1]}`,
          `allkeys-lru on ${evicting}`,
        ].sort(),
      );
    } finally {
      await third?.config("SET", "maxmemory-policy", "noeviction");
    }
  });

  it("runs trees on different masters with exact figures, listing roots across slots", async () => {
    const roots: WalletView[] = [];
    // One after another: the root listing keeps creation order, which the listing checks below.
    for (let i = 0; i < treeCount; i++) {
      roots.push(
        await ledger.createWallet(project, {
          name: `task ${i}`,
          budget: 1000,
          requestId: `cluster-tree-${i}`,
        }),
      );
    }
    // Every tree at once, so all three masters run scripts concurrently.
    const trees = await Promise.all(roots.map((root) => runTree(ledger, clock, root)));

    // The 1 s hold of each tree is due; its next access expires it (EXPIRE line).
    clock.advance(2_000);
    for (const { root, researcher, writer, refusals } of trees) {
      expect(refusals).toEqual(
        Array.from({ length: 3 }, () => ({
          reason: "INSUFFICIENT_CREDITS",
          metadata: { wallet_id: researcher.id, requested: "7", available: "1" },
        })),
      );
      const closed = await ledger.closeWallet(project, {
        walletId: researcher.id,
        requestId: rid(),
      });
      expect([closed.returned, closed.wallet.status, closed.wallet.spent]).toEqual([
        1,
        "closed",
        399,
      ]);
      expect(await ledger.getWallet(project, { walletId: writer.id })).toMatchObject({
        budget: 300,
        spent: 75,
        held: 0,
        available: 225,
      });
      expect(await ledger.getWallet(project, { walletId: root.id })).toMatchObject({
        budget: 1500,
        spent: 0,
        held: 0,
        allocated: 300,
        settled: 399,
        available: 801,
        totalSpent: 474,
        exhausted: false,
      });
      expect(await ledger.getReceipt(project, { walletId: root.id })).toMatchObject({
        totalCredits: 474,
        callCount: 59,
        ownCredits: 0,
        ownCallCount: 0,
        byService: [
          { key: "search", credits: 399, callCount: 57 },
          { key: "llm", credits: 75, callCount: 2 },
        ],
        byAgent: [
          { key: "researcher", credits: 399, callCount: 57 },
          { key: "writer", credits: 75, callCount: 2 },
        ],
        refillCredits: 500,
        refillCount: 1,
        voidedHoldCredits: 70,
        voidedHoldCount: 2,
        overBudgetCount: 0,
        budget: 1500,
        available: 801,
      });
      const { lines } = await expectTreeInvariants(ledger, root.id);
      expect(countBy(lines.map((line) => line.kind))).toEqual({
        spend: 58,
        capture: 1,
        void: 1,
        expire: 1,
        refill: 1,
      });
    }

    // Another project's tree lives in the same cluster and stays invisible.
    const foreign = await ledger.createWallet(otherProject, { budget: 5, requestId: "foreign" });
    await expectRefused(
      ledger.getWallet(otherProject, { walletId: roots[0]?.id ?? "" }),
      "WALLET_NOT_FOUND",
      {
        wallet_id: roots[0]?.id ?? "",
      },
    );

    // The listing key has its own slot; each listed root is read by its own script, in its slot.
    const first = await ledger.listWallets(project, { parentId: "", pageSize: 4 });
    const second = await ledger.listWallets(project, {
      parentId: "",
      pageSize: 4,
      pageToken: first.nextPageToken,
    });
    expect(second.nextPageToken).toBe("");
    const listed = [...first.items, ...second.items];
    expect(listed.map((w) => [w.id, w.available, w.totalSpent])).toEqual(
      roots.map((root) => [root.id, 801, 474]),
    );
    expect(
      (await ledger.listWallets(otherProject, { parentId: "" })).items.map((w) => w.id),
    ).toEqual([foreign.id]);

    // Behind the store: each tree's keys sit in its hash tag's one slot, on one master, and the
    // trees spread over the masters.
    const placement = await keyPlacement(admins, keyPrefix);
    const mastersOfTrees = roots.map((root) => {
      const where = placement.get(root.id);
      expect(where?.slots, root.id).toHaveLength(1);
      expect(where?.nodes, root.id).toHaveLength(1);
      return where?.nodes[0];
    });
    expect(new Set(mastersOfTrees).size).toBeGreaterThanOrEqual(2);
  });

  it("reloads its scripts after SCRIPT FLUSH on every master (NOSCRIPT, then EVAL)", async () => {
    const root = await ledger.createWallet(project, { budget: 10, requestId: rid("flush") });
    await Promise.all(admins.map((admin) => admin.script("FLUSH")));
    const { line, remaining } = await ledger.spend(project, {
      walletId: root.id,
      amount: 4,
      service: "search",
      requestId: rid(),
    });
    expect([line.amount, remaining]).toEqual([4, 6]);
    expect((await ledger.getWallet(project, { walletId: root.id })).available).toBe(6);
  });

  it("serves `npm start` with REDIS_CLUSTER=true from the seed node", async () => {
    const seedUrl = own?.seedUrl ?? "";
    const prefix = testKeyPrefix();
    const port = await freePort();
    let started: Started | undefined;
    const client = new WalletServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());
    try {
      started = await startMain({
        TOLLGATE_ADDRESS: `127.0.0.1:${port}`,
        REDIS_URL: seedUrl,
        REDIS_CLUSTER: "true",
        TOLLGATE_KEY_PREFIX: prefix,
        TOLLGATE_LOG_LEVEL: "warn",
      });
      expect(started.banner[1]).toBe(
        `  store:       redis cluster, seed ${new URL(seedUrl).toString()} (key prefix ${prefix}, maxmemory-policy noeviction)`,
      );
      const { wallet } = await call(
        client,
        client.createWallet,
        createRequest({ requestId: "main-over-cluster", budget: 30n }),
      );
      const walletId = wallet?.id ?? "";
      const spent = await call(client, client.spend, {
        walletId,
        amount: 12n,
        service: "search",
        metadata: {},
        requestId: "main-spend",
      });
      expect([spent.charge?.amount, spent.remaining]).toEqual([12n, 18n]);
      const placement = await keyPlacement(admins, prefix);
      expect(placement.get(walletId)?.slots).toHaveLength(1);
      process.kill(started.pid, "SIGTERM");
      expect(await started.exited).toBe(0);
    } finally {
      client.close();
      if (started !== undefined && started.child.exitCode === null) {
        process.kill(started.pid, "SIGKILL");
        await started.exited;
      }
    }
  });

  it("refuses a cluster node behind a single-node client, in the store check and in `npm start`", async () => {
    const seedUrl = own?.seedUrl ?? "";
    const single = createRedisClient(seedUrl);
    const standalone = createRedisClient(inject("redisUrl"));
    try {
      await expect(assertNotClusterNode(single)).rejects.toThrow(
        "this Redis is a Redis Cluster node: set REDIS_CLUSTER=true to use the cluster",
      );
      await expect(assertNotClusterNode(standalone)).resolves.toBeUndefined();
    } finally {
      single.disconnect();
      standalone.disconnect();
    }
    const { code, stderr } = await exitOf({ REDIS_URL: seedUrl, TOLLGATE_ADDRESS: "127.0.0.1:0" });
    expect(code).toBe(1);
    expect(stderr).toContain(
      "tollgate failed to start: this Redis is a Redis Cluster node: set REDIS_CLUSTER=true to use the cluster",
    );
  });

  // Last: it leaves one master down for good.
  it("fails closed at once for the trees of a killed master, then health fails once the cluster marks it failed", async () => {
    const roots: WalletView[] = [];
    for (let i = 0; i < treeCount; i++) {
      roots.push(await ledger.createWallet(project, { budget: 50, requestId: `outage-tree-${i}` }));
    }
    const placement = await keyPlacement(admins, keyPrefix);
    const masterOf = (root: WalletView) => placement.get(root.id)?.nodes[0];
    const victim = roots[0] as WalletView;
    const down = masterOf(victim) as number;
    const survivors = roots.filter((root) => masterOf(root) !== down);
    expect(survivors.length).toBeGreaterThan(0);

    await store?.ping();
    await own?.nodes[down]?.stop({ crash: true });
    const spendOn = (root: WalletView) =>
      ledger.spend(project, { walletId: root.id, amount: 5, service: "search", requestId: rid() });
    // Not retried elsewhere, not queued for later: refused now, and nothing is granted.
    await expectRefused(spendOn(victim), "STORE_UNAVAILABLE");
    for (const root of survivors) {
      expect((await spendOn(root)).remaining).toBe(45);
    }
    // The root listing reads every root in its own slot: one unreachable slot fails it whole
    // rather than returning a listing with a tree silently missing.
    await expectRefused(ledger.listWallets(project, { parentId: "" }), "STORE_UNAVAILABLE");
    // Once the node timeout passes, the cluster refuses every slot (full coverage required), and
    // the store's ping (what the health service reports) must say so rather than stay SERVING.
    await eventually(() => expectRefused(store?.ping() ?? Promise.resolve(), "STORE_UNAVAILABLE"));
  });
});
