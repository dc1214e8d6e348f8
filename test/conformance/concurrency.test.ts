import { describe, expect, it } from "vitest";
import { LedgerError } from "../../server/ledger/ledger-error.js";
import {
  createChild,
  createRoot,
  project,
  rid,
  spend,
  storeFactories,
  useLedger,
} from "./harness.js";
import { expectTreeInvariants } from "./tree-invariants.js";

/** Settles every call; returns how many were granted and the reasons of the refusals. */
async function settle(
  calls: Array<Promise<unknown>>,
): Promise<{ granted: number; refused: string[] }> {
  const results = await Promise.allSettled(calls);
  const refused = results.flatMap((r) => {
    if (r.status === "fulfilled") return [];
    if (!(r.reason instanceof LedgerError)) throw r.reason;
    return [r.reason.reason];
  });
  return { granted: results.length - refused.length, refused };
}

describe.each(storeFactories)("concurrent calls ($name store)", (factory) => {
  const env = useLedger(factory);

  it("grants exactly 71 of 200 concurrent spends of 7 on a hard cap of 500", async () => {
    const { ledger } = env();
    const root = await createRoot(ledger, 500);
    const outcome = await settle(Array.from({ length: 200 }, () => spend(ledger, root.id, 7)));
    expect(outcome.granted).toBe(71);
    expect(new Set(outcome.refused)).toEqual(new Set(["INSUFFICIENT_CREDITS"]));
    expect(await ledger.getWallet(project, { walletId: root.id })).toMatchObject({
      spent: 497,
      available: 3,
    });
    await expectTreeInvariants(ledger, root.id);
  });

  it("never overspends any level when a parent and its children spend at once", async () => {
    const { ledger } = env();
    const root = await createRoot(ledger, 300);
    const children = [
      await createChild(ledger, root.id, 100),
      await createChild(ledger, root.id, 80),
      await createChild(ledger, root.id, 60),
    ];
    const calls = [root, ...children].flatMap((w) =>
      Array.from({ length: 30 }, () => spend(ledger, w.id, 9)),
    );
    const outcome = await settle(calls);
    // 60/9 -> 6 on the root, 100/9 -> 11, 80/9 -> 8, 60/9 -> 6.
    expect(outcome.granted).toBe(31);
    const wallets = [];
    for (const w of [root, ...children])
      wallets.push(await ledger.getWallet(project, { walletId: w.id }));
    expect(wallets.map((w) => [w.spent, w.available])).toEqual([
      [54, 6],
      [99, 1],
      [72, 8],
      [54, 6],
    ]);
    await expectTreeInvariants(ledger, root.id);
  });

  it("charges once for 50 concurrent repeats of one request id, all answered alike", async () => {
    const { ledger } = env();
    const root = await createRoot(ledger, 100);
    const input = { walletId: root.id, amount: 10, service: "search", requestId: rid() };
    const results = await Promise.all(
      Array.from({ length: 50 }, () => ledger.spend(project, input)),
    );
    expect(new Set(results.map((r) => JSON.stringify(r))).size).toBe(1);
    expect(await ledger.getWallet(project, { walletId: root.id })).toMatchObject({
      spent: 10,
      available: 90,
    });
  });
});
