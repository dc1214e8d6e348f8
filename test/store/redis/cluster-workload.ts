import type { Redis } from "ioredis";
import { expect } from "vitest";
import type { Ledger } from "../../../server/ledger/ledger.js";
import { LedgerError } from "../../../server/ledger/ledger-error.js";
import type { WalletView } from "../../../server/ledger/types.js";
import { type FakeClock, project, rid } from "../../conformance/harness.js";

/** The workload and the key inspection of cluster.test.ts. */

/** What one tree's workload left behind, for the checks after it. */
export interface TreeRun {
  root: WalletView;
  researcher: WalletView;
  writer: WalletView;
  /** Reason and metadata of each refused researcher spend. */
  refusals: { reason: string; metadata: Record<string, string> }[];
}

/**
 * One tree's workload: a researcher spending 7 at a time, 60 spends at once, on a hard-capped 400
 * (57 granted, 1 left); a writer's holds (capture 60 of 100, void 50, a 1 s hold left to expire)
 * and a spend of 15; a top-up of the root; a replayed spend that charges nothing.
 */
export async function runTree(
  ledger: Ledger,
  clock: FakeClock,
  root: WalletView,
): Promise<TreeRun> {
  const child = (name: string, budget: number) =>
    ledger.createWallet(project, { parentId: root.id, name, budget, requestId: rid(name) });
  const researcher = await child("researcher", 400);
  const writer = await child("writer", 300);

  const spends = await Promise.allSettled(
    Array.from({ length: 60 }, () =>
      ledger.spend(project, {
        walletId: researcher.id,
        amount: 7,
        service: "search",
        metadata: { agent: "researcher" },
        requestId: rid("research"),
      }),
    ),
  );
  const granted = spends.filter((s) => s.status === "fulfilled");
  expect(granted).toHaveLength(57);
  // Anything but a LedgerError (a transport failure) shows up as its text, failing the comparison.
  const refusals = spends.flatMap((s) => {
    if (s.status === "fulfilled") return [];
    const error: unknown = s.reason;
    return error instanceof LedgerError
      ? [{ reason: error.reason as string, metadata: error.metadata }]
      : [{ reason: String(error), metadata: {} }];
  });

  const hold = (amount: number, ttlSeconds?: number) =>
    ledger.authorize(project, {
      walletId: writer.id,
      amount,
      service: "llm",
      metadata: { agent: "writer" },
      ttlSeconds,
      requestId: rid("hold"),
    });
  const captured = await hold(100);
  await ledger.capture(project, { holdId: captured.hold.id, amount: 60, requestId: rid() });
  const voided = await hold(50);
  await ledger.void(project, { holdId: voided.hold.id, requestId: rid() });
  const expiring = await hold(20, 1);
  expect(expiring.hold.expiresAtMs).toBe(clock.now() + 1_000);
  const request = {
    walletId: writer.id,
    amount: 15,
    service: "llm",
    metadata: { agent: "writer" },
    requestId: rid("write"),
  };
  const first = await ledger.spend(project, request);
  const replay = await ledger.spend(project, request);
  expect([replay.line.id, replay.remaining]).toEqual([first.line.id, first.remaining]);
  // 300 - 60 captured - 20 still held - 15.
  expect(first.remaining).toBe(205);

  await ledger.addCredits(project, { walletId: root.id, amount: 500, requestId: rid("topup") });
  return { root, researcher, writer, refusals };
}

export function countBy(values: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}

/**
 * Where each tree's keys are, asked of every node directly: the nodes holding a key with the
 * tree's hash tag, and the slots (CLUSTER KEYSLOT) of those keys.
 */
export async function keyPlacement(
  admins: Redis[],
  prefix: string,
): Promise<Map<string, { nodes: number[]; slots: number[] }>> {
  const placement = new Map<string, { nodes: Set<number>; slots: Set<number> }>();
  for (const [index, admin] of admins.entries()) {
    let cursor = "0";
    do {
      const [next, keys] = await admin.scan(cursor, "MATCH", `${prefix}{*`, "COUNT", 1000);
      cursor = next;
      for (const key of keys) {
        const rootId = /\{([^}]*)\}/.exec(key)?.[1] ?? "";
        const entry = placement.get(rootId) ?? { nodes: new Set(), slots: new Set() };
        entry.nodes.add(index);
        entry.slots.add(Number(await admin.cluster("KEYSLOT", key)));
        placement.set(rootId, entry);
      }
    } while (cursor !== "0");
  }
  return new Map(
    [...placement].map(([rootId, { nodes, slots }]) => [
      rootId,
      { nodes: [...nodes], slots: [...slots] },
    ]),
  );
}
