import { expect } from "vitest";
import { lineHash } from "../../client/line-hash.js";
import type { Ledger } from "../../server/ledger/ledger.js";
import { Limits } from "../../server/ledger/limits.js";
import type { Breakdown, ChargeLine, Receipt, WalletView } from "../../server/ledger/types.js";
import { type TreeState, treeState } from "./harness.js";

/**
 * The five ledger invariants (docs/ledger.md#invariants), checked on everything a caller can observe about one
 * tree. Shared by the conformance cases and the property test, so both judge a store the same way.
 */

const isDebit = (line: ChargeLine) => line.kind === "spend" || line.kind === "capture";

/** Wallet id plus every descendant id, from the parent links of `wallets`. */
function subtreeIds(wallets: WalletView[], walletId: string): Set<string> {
  const ids = new Set([walletId]);
  for (const wallet of wallets) {
    // Parents come before children in a tree listing, so one pass suffices.
    if (ids.has(wallet.parentId)) ids.add(wallet.id);
  }
  return ids;
}

/** A breakdown of `lines` as a receipt ranks it: most credits first, ties by key (code points). */
export function breakdown(lines: ChargeLine[], keyOf: (line: ChargeLine) => string): Breakdown[] {
  const groups = new Map<string, Breakdown>();
  for (const line of lines) {
    const key = keyOf(line);
    const group = groups.get(key) ?? { key, credits: 0, callCount: 0 };
    group.credits += line.amount;
    group.callCount += 1;
    groups.set(key, group);
  }
  return [...groups.values()].sort(
    (a, b) => b.credits - a.credits || Buffer.compare(Buffer.from(a.key), Buffer.from(b.key)),
  );
}

/** A receipt's view of a full breakdown: its top rows, the rest summed, and the key count. */
function topAndOther(rows: Breakdown[]) {
  const top = rows.slice(0, Limits.receiptBreakdownTop);
  const rest = rows.slice(Limits.receiptBreakdownTop);
  return {
    top,
    other: {
      key: "",
      credits: sum(rest.map((r) => r.credits)),
      callCount: sum(rest.map((r) => r.callCount)),
    },
    count: rows.length,
  };
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

/** Invariant 4: each receipt equals what its lines say; tree totals equal sums over wallets. */
export function checkReceiptsAddUp({ wallets, receipts, lines }: TreeState): void {
  const walletById = new Map(wallets.map((w) => [w.id, w]));
  const receiptById = new Map(receipts.map((r) => [r.walletId, r]));
  for (const wallet of wallets) {
    const receipt = receiptById.get(wallet.id) as Receipt;
    const ids = subtreeIds(wallets, wallet.id);
    const subtree = lines.filter((l) => ids.has(l.walletId));
    const debits = subtree.filter(isDebit);
    const own = debits.filter((l) => l.walletId === wallet.id);
    const voids = subtree.filter((l) => l.kind === "void" || l.kind === "expire");
    const refills = subtree.filter((l) => l.kind === "refill");
    const children = wallets.filter((w) => w.parentId === wallet.id);
    const nameOf = (line: ChargeLine) => (walletById.get(line.walletId) as WalletView).name;
    const byService = topAndOther(breakdown(debits, (l) => l.service));
    // A line without an agent label counts under its wallet's name: attribution by role.
    const byAgent = topAndOther(breakdown(debits, (l) => l.metadata.agent ?? nameOf(l)));
    expect(receipt, `receipt of ${wallet.id} against its lines`).toEqual({
      walletId: wallet.id,
      name: wallet.name,
      totalCredits: sum(debits.map((l) => l.amount)),
      callCount: debits.length,
      ownCredits: sum(own.map((l) => l.amount)),
      ownCallCount: own.length,
      byService: byService.top,
      byServiceOther: byService.other,
      serviceKeyCount: byService.count,
      byAgent: byAgent.top,
      byAgentOther: byAgent.other,
      agentKeyCount: byAgent.count,
      refillCredits: sum(refills.map((l) => l.amount)),
      refillCount: refills.length,
      voidedHoldCredits: sum(voids.map((l) => l.amount)),
      voidedHoldCount: voids.length,
      overBudgetCount: debits.filter((l) => l.overBudget).length,
      budget: wallet.budget,
      available: wallet.available,
      childCount: children.length,
      children: children.slice(0, Limits.receiptChildrenMax).map((child) => {
        const childReceipt = receiptById.get(child.id) as Receipt;
        return {
          walletId: child.id,
          name: child.name,
          budget: child.budget,
          totalCredits: childReceipt.totalCredits,
          callCount: childReceipt.callCount,
          available: child.available,
          status: child.status,
          exhausted: child.exhausted,
        };
      }),
    });
    expect(receipt.totalCredits, `receipt of ${wallet.id} against totalSpent`).toBe(
      wallet.totalSpent,
    );
    expect(receipt.ownCredits, `receipt of ${wallet.id} against spent`).toBe(wallet.spent);
    expect(receipt.totalCredits, `tree total of ${wallet.id} = own + children`).toBe(
      receipt.ownCredits +
        sum(children.map((c) => (receiptById.get(c.id) as Receipt).totalCredits)),
    );
  }
  // A debit line's wallet must belong to the tree.
  for (const line of lines) expect(walletById.has(line.walletId), line.id).toBe(true);
}

/**
 * Invariants 1 and 2: no hard-capped wallet below 0; every wallet's figures follow from its
 * children; and while the root is open, its budget is exactly what the tree spent, holds and
 * still has available: budget(root) = sum over wallets of (spent + held + available).
 */
export function checkBalances({ wallets }: TreeState): void {
  const root = wallets[0] as WalletView;
  for (const wallet of wallets) {
    const children = wallets.filter((w) => w.parentId === wallet.id);
    const open = children.filter((c) => c.status === "open");
    const closed = children.filter((c) => c.status === "closed");
    const label = `wallet ${wallet.id}`;
    if (wallet.hardCap) expect(wallet.available, `${label}: hard cap`).toBeGreaterThanOrEqual(0);
    expect(wallet.totalSpent, `${label}: totalSpent`).toBe(
      wallet.spent + sum(children.map((c) => c.totalSpent)),
    );
    expect(wallet.allocated, `${label}: allocated`).toBe(sum(open.map((c) => c.budget)));
    expect(wallet.settled, `${label}: settled`).toBe(sum(closed.map((c) => c.spent + c.settled)));
    if (wallet.status === "open") {
      expect(wallet.available, `${label}: available`).toBe(
        wallet.budget - wallet.spent - wallet.held - wallet.allocated - wallet.settled,
      );
      expect(wallet.exhausted, `${label}: exhausted`).toBe(
        wallet.available <= 0 && open.every((c) => c.exhausted),
      );
    } else {
      expect(
        { available: wallet.available, held: wallet.held, exhausted: wallet.exhausted },
        `${label}: closed`,
      ).toEqual({ available: 0, held: 0, exhausted: true });
      expect(open, `${label}: closed with open children`).toEqual([]);
    }
  }
  if (root.status === "open") {
    expect(root.budget, "conservation").toBe(
      sum(wallets.map((w) => w.spent + w.held + w.available)),
    );
  }
}

/** Invariants 3 and 5: no request charged twice, no hold resolved twice. */
export function checkOnce({ lines }: TreeState): void {
  const resolved = lines.filter((l) => l.holdId !== "").map((l) => l.holdId);
  expect(resolved.length, "a hold resolved twice").toBe(new Set(resolved).size);
  // Close voids several holds under one request id; every other line has its own.
  const requestIds = lines.filter((l) => l.kind !== "void" && l.kind !== "expire");
  expect(requestIds.length, "a request charged twice").toBe(
    new Set(requestIds.map((l) => l.requestId)).size,
  );
  const ids = lines.map((l) => l.id);
  expect(ids, "lines oldest first").toEqual([...ids].sort((a, b) => seqOf(a) - seqOf(b)));
}

function seqOf(id: string): number {
  return Number(id.slice(id.lastIndexOf(".") + 2));
}

/**
 * The hash chain (docs/events.md#the-hash-chain): when the state is a whole tree's (its top
 * wallet is a root), its lines in commit order link each to the one before, from "", and each
 * hash is that of the line's canonical encoding.
 */
export function checkChain({ wallets, lines }: TreeState): void {
  if (wallets[0]?.parentId !== "") return;
  let prevHash = "";
  for (const line of lines) {
    expect(line.prevHash, `line ${line.id}: prevHash`).toBe(prevHash);
    expect(line.hash, `line ${line.id}: hash`).toBe(lineHash(line));
    prevHash = line.hash;
  }
}

/** Every invariant on an already fetched tree, and its hash chain. */
export function checkTree(state: TreeState): void {
  checkBalances(state);
  checkReceiptsAddUp(state);
  checkOnce(state);
  checkChain(state);
}

/** Fetches the tree under `rootId` and checks every invariant on it. */
export async function expectTreeInvariants(ledger: Ledger, rootId: string): Promise<TreeState> {
  const state = await treeState(ledger, rootId);
  checkTree(state);
  return state;
}
