import { randomBytes } from "node:crypto";
import { fingerprint } from "../server/ledger/fingerprint.js";
import { rootIdFor } from "../server/ledger/ids.js";
import { defaultTreeLimits } from "../server/ledger/limits.js";
import type { Metadata } from "../server/ledger/types.js";
import { defaultAlertThresholds } from "../server/ledger/validation.js";
import { createRedisClient } from "../server/store/redis/connect.js";
import { RedisLedgerStore } from "../server/store/redis/redis-ledger-store.js";

const alertThresholds = [...defaultAlertThresholds];

/**
 * The world `npm run bench:fairness` measures, written straight through a `RedisLedgerStore` on
 * the server's Redis and key prefix (tens of thousands of operations a second, where gRPC would
 * take minutes). Nothing here is measured except its own duration.
 */

export interface SetupPlan {
  redisUrl: string;
  keyPrefix: string;
  holds: number;
  trees: number;
  children: number;
  /** Operations in flight. */
  concurrency: number;
  /** How long after the last hold is placed they should fall due, at least. */
  marginMs: number;
  log(line: string): void;
}

export interface World {
  /** A's trees whose holds all fall due at `dueAtMs`, and how many holds each has. */
  holdTrees: { rootId: string; holds: number }[];
  /** A's root with `children` children; every 5th child has spent, every 5th holds a hold. */
  wideRoot: string;
  children: number;
  childSpends: number;
  /** Holds on the wide tree's children (long-lived: the close voids them). */
  childHolds: number;
  /** A small tree of A's for warming the server's code paths up (closed before the idle phase). */
  warmRoot: string;
  /** B's root, with a budget no run can use up. */
  bRoot: string;
  /** E: when every one of A's holds falls due (epoch ms). */
  dueAtMs: number;
}

export const projectA = "A";
export const projectB = "B";

/** Runs `op(0..count-1)` with at most `concurrency` in flight. */
async function pool(count: number, concurrency: number, op: (i: number) => Promise<unknown>) {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next;
      next += 1;
      await op(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}

export async function setUpWorld(plan: SetupPlan): Promise<World> {
  const perTree = Math.ceil(plan.holds / plan.trees);
  if (perTree > defaultTreeLimits.maxOpenHoldsPerTree) {
    throw new Error(
      `${perTree} holds per tree is over the default limit of ${defaultTreeLimits.maxOpenHoldsPerTree}: use more --trees`,
    );
  }
  if (plan.children > defaultTreeLimits.maxChildrenPerWallet) {
    throw new Error(`--children is over the limit of ${defaultTreeLimits.maxChildrenPerWallet}`);
  }
  const redis = createRedisClient(plan.redisUrl);
  redis.on("error", () => {});
  const store = new RedisLedgerStore(redis, { keyPrefix: plan.keyPrefix });
  const tag = randomBytes(4).toString("hex");
  let sequence = 0;
  const base = (project: string, operation: string, params: Record<string, unknown>) => {
    sequence += 1;
    return {
      project,
      requestId: `setup-${tag}-${sequence}`,
      fingerprint: fingerprint(operation, params),
      nowMs: Date.now(),
    };
  };
  const createRoot = async (project: string, name: string, budget: number) => {
    const command = base(project, "createWallet", { name, budget });
    const rootId = rootIdFor(project, command.requestId);
    const metadata: Metadata = {};
    await store.createRoot({
      ...command,
      rootId,
      name,
      budget,
      hardCap: true,
      metadata,
      alertThresholds,
    });
    return rootId;
  };
  const timed = async (what: string, count: number, step: () => Promise<unknown>) => {
    const start = performance.now();
    await step();
    const ms = performance.now() - start;
    plan.log(
      `  ${what}: ${count.toLocaleString("en-US")} in ${(ms / 1000).toFixed(1)} s (${Math.round((count * 1000) / ms).toLocaleString("en-US")}/s)`,
    );
    return (count * 1000) / ms;
  };

  try {
    const bRoot = await createRoot(projectB, "b-task", 1_000_000_000_000);
    const wideRoot = await createRoot(projectA, "a-wide", plan.children * 100);
    const warmRoot = await createRoot(projectA, "a-warm", 1000);
    for (let i = 0; i < 3; i++) {
      const params = { parentId: warmRoot, name: `warm-${i}`, budget: 100 };
      const child = await store.createChild({
        ...base(projectA, "createWallet", params),
        ...params,
        hardCap: undefined,
        metadata: {},
        alertThresholds,
      });
      const hold = {
        walletId: child.id,
        amount: 1,
        service: "llm",
        metadata: {},
        ttlMs: 3_600_000,
      };
      await store.authorize({ ...base(projectA, "authorize", hold), ...hold });
    }
    const childIds: string[] = new Array(plan.children);
    await timed("children of A's wide root (createChild)", plan.children, () =>
      pool(plan.children, plan.concurrency, async (i) => {
        const params = { parentId: wideRoot, name: `agent-${i}`, budget: 100 };
        const child = await store.createChild({
          ...base(projectA, "createWallet", params),
          ...params,
          hardCap: undefined,
          metadata: {},
          alertThresholds,
        });
        childIds[i] = child.id;
      }),
    );
    const spenders = childIds.filter((_, i) => i % 5 === 0);
    await timed("spends on every 5th child", spenders.length, () =>
      pool(spenders.length, plan.concurrency, async (i) => {
        const params = {
          walletId: spenders[i] as string,
          amount: 5,
          service: "search",
          metadata: { agent: `role-${i % 50}` },
        };
        await store.spend({ ...base(projectA, "spend", params), ...params });
      }),
    );
    // Holds the close will void (an hour-long TTL: they never expire during the run). Their rate
    // also tells how long 200,000 holds will take, so E can be set before the first is placed.
    const holders = childIds.filter((_, i) => i % 5 === 2);
    const rate = await timed("holds on every 5th child (1 h TTL)", holders.length, () =>
      pool(holders.length, plan.concurrency, async (i) => {
        const params = {
          walletId: holders[i] as string,
          amount: 10,
          service: "llm",
          metadata: { agent: "holder" },
          ttlMs: 3_600_000,
        };
        await store.authorize({ ...base(projectA, "authorize", params), ...params });
      }),
    );

    const holdTrees: World["holdTrees"] = [];
    for (let t = 0; t < plan.trees; t++) {
      const holds = Math.min(perTree, Math.max(0, plan.holds - t * perTree));
      holdTrees.push({
        rootId: await createRoot(projectA, `a-holds-${t}`, holds * 10 + 10),
        holds,
      });
    }
    // Every hold is placed "at" T0 with TTL E - T0, so all fall due at E.
    const t0 = Date.now();
    const dueAtMs = t0 + Math.ceil((plan.holds / Math.max(rate, 1)) * 1300) + plan.marginMs;
    const slots = holdTrees.flatMap(({ rootId, holds }) => new Array<string>(holds).fill(rootId));
    await timed(`A's holds on ${plan.trees} trees, all due at E`, slots.length, () =>
      pool(slots.length, plan.concurrency, async (i) => {
        const params = {
          walletId: slots[i] as string,
          amount: 1,
          service: "gpu",
          metadata: { agent: "batch" },
          ttlMs: dueAtMs - t0,
        };
        await store.authorize({ ...base(projectA, "authorize", params), ...params, nowMs: t0 });
      }),
    );
    return {
      holdTrees,
      wideRoot,
      children: plan.children,
      childSpends: spenders.length,
      childHolds: holders.length,
      warmRoot,
      bRoot,
      dueAtMs,
    };
  } finally {
    await store.close();
  }
}
