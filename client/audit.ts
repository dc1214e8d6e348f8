import type { ClientCore } from "./core.js";
import { lineHash } from "./line-hash.js";
import type { CallOptions } from "./options.js";
import type { Charge, Receipt } from "./types.js";
import type { Wallet } from "./wallet.js";
import { WalletDirectory } from "./wallets.js";

/** The first line of a tree's chain that does not verify. */
export interface ChainBreak {
  /** Its position among the tree's lines, from 0, oldest first. */
  index: number;
  lineId: string;
  /** What is wrong: its own content, or its link to the line before. */
  problem: "hash does not match the line's content" | "prev_hash does not match the previous line";
}

/** A figure the server reports that the lines do not add up to. */
export interface TotalMismatch {
  walletId: string;
  /** e.g. `spent`, `receipt.total_credits`, `receipt.by_service[web]`. */
  figure: string;
  /** What the lines add up to. */
  fromLines: bigint;
  /** What the server reports. */
  reported: bigint;
}

/** The outcome of {@link auditTree}. */
export interface AuditReport {
  /** True when the chain verifies and every total matches its lines. */
  ok: boolean;
  rootId: string;
  /** Lines checked. */
  lines: number;
  /** Wallets whose totals were checked. */
  wallets: number;
  firstBreak?: ChainBreak;
  mismatches: TotalMismatch[];
}

/** What one wallet's own lines add up to. */
interface Sums {
  debits: bigint;
  calls: bigint;
  refill: bigint;
  refills: bigint;
  voided: bigint;
  voids: bigint;
  overBudget: bigint;
  byService: Map<string, bigint>;
  byAgent: Map<string, bigint>;
}

/**
 * Audits the tree of `walletId` from the outside, trusting nothing the server computed
 * (docs/events.md#the-hash-chain): reads every line of the tree in commit order, recomputes each
 * line's hash from its fields and checks each link to the line before, then recomputes every
 * wallet's figures (own spent, subtree total, calls, refills, voids, over-budget lines, the
 * receipt's breakdown rows) from the lines and compares them with what the server reports.
 */
export async function auditTree(
  core: ClientCore,
  walletId: string,
  options?: CallOptions,
): Promise<AuditReport> {
  const directory = new WalletDirectory(core);
  const root = await directory.get((await directory.get(walletId, options)).rootId, options);
  const wallets = await subtree(directory, root, options);
  const lines: Charge[] = [];
  for await (const page of root.listCharges(
    { includeDescendants: true, pageSize: 1000 },
    options,
  )) {
    lines.push(...page);
  }
  const report: AuditReport = {
    ok: true,
    rootId: root.id,
    lines: lines.length,
    wallets: wallets.length,
    mismatches: [],
  };
  let previous = "";
  for (const [index, line] of lines.entries()) {
    const problem =
      line.prevHash !== previous
        ? "prev_hash does not match the previous line"
        : lineHash({
              ...line,
              kind: line.kind.toLowerCase(),
              createdAtMs: line.createdAt.getTime(),
            }) !== line.hash
          ? "hash does not match the line's content"
          : undefined;
    if (problem) {
      report.firstBreak = { index, lineId: line.id, problem };
      break;
    }
    previous = line.hash;
  }

  const byId = new Map(wallets.map((w) => [w.id, w]));
  const own = new Map(wallets.map((w) => [w.id, emptySums()]));
  for (const line of lines) {
    const sums = own.get(line.walletId);
    if (sums) addLine(sums, line, byId.get(line.walletId)?.name ?? "");
  }
  for (const wallet of wallets) {
    const subtreeSums = emptySums();
    for (const w of wallets) {
      if (w.id === wallet.id || isUnder(w, wallet, byId)) merge(subtreeSums, own.get(w.id));
    }
    const mine = own.get(wallet.id) ?? emptySums();
    const receipt = await wallet.getReceipt(options);
    const check = (figure: string, fromLines: bigint, reported: bigint) => {
      if (fromLines !== reported)
        report.mismatches.push({ walletId: wallet.id, figure, fromLines, reported });
    };
    check("spent", mine.debits, wallet.spent);
    check("total_spent", subtreeSums.debits, wallet.totalSpent);
    checkReceipt(check, receipt, mine, subtreeSums);
  }
  report.ok = report.firstBreak === undefined && report.mismatches.length === 0;
  return report;
}

function checkReceipt(
  check: (figure: string, fromLines: bigint, reported: bigint) => void,
  receipt: Receipt,
  mine: Sums,
  all: Sums,
): void {
  check("receipt.total_credits", all.debits, receipt.totalCredits);
  check("receipt.call_count", all.calls, receipt.callCount);
  check("receipt.own_credits", mine.debits, receipt.ownCredits);
  check("receipt.own_call_count", mine.calls, receipt.ownCallCount);
  check("receipt.refill_credits", all.refill, receipt.refillCredits);
  check("receipt.refill_count", all.refills, receipt.refillCount);
  check("receipt.voided_hold_credits", all.voided, receipt.voidedHoldCredits);
  check("receipt.voided_hold_count", all.voids, receipt.voidedHoldCount);
  check("receipt.over_budget_count", all.overBudget, receipt.overBudgetCount);
  for (const row of receipt.byService) {
    check(`receipt.by_service[${row.key}]`, all.byService.get(row.key) ?? 0n, row.credits);
  }
  for (const row of receipt.byAgent) {
    check(`receipt.by_agent[${row.key}]`, all.byAgent.get(row.key) ?? 0n, row.credits);
  }
  check("receipt.service_key_count", BigInt(all.byService.size), receipt.serviceKeyCount);
  check("receipt.agent_key_count", BigInt(all.byAgent.size), receipt.agentKeyCount);
}

/** Every wallet of `root`'s tree, root first. */
async function subtree(
  directory: WalletDirectory,
  root: Wallet,
  options: CallOptions | undefined,
): Promise<Wallet[]> {
  const found = [root];
  for (let i = 0; i < found.length; i++) {
    const parent = found[i];
    if (!parent) break;
    for await (const page of directory.list({ parentId: parent.id, pageSize: 1000 }, options)) {
      found.push(...page);
    }
  }
  return found;
}

function isUnder(w: Wallet, ancestor: Wallet, byId: Map<string, Wallet>): boolean {
  for (let p = byId.get(w.parentId); p; p = byId.get(p.parentId)) {
    if (p.id === ancestor.id) return true;
  }
  return false;
}

function emptySums(): Sums {
  return {
    debits: 0n,
    calls: 0n,
    refill: 0n,
    refills: 0n,
    voided: 0n,
    voids: 0n,
    overBudget: 0n,
    byService: new Map(),
    byAgent: new Map(),
  };
}

/** Adds one line to its wallet's sums; a debit without an `agent` key counts under the wallet's name. */
function addLine(sums: Sums, line: Charge, walletName: string): void {
  switch (line.kind) {
    case "SPEND":
    case "CAPTURE": {
      sums.debits += line.amount;
      sums.calls += 1n;
      if (line.overBudget) sums.overBudget += 1n;
      bump(sums.byService, line.service, line.amount);
      bump(sums.byAgent, line.metadata.agent ?? walletName, line.amount);
      break;
    }
    case "REFILL":
      sums.refill += line.amount;
      sums.refills += 1n;
      break;
    case "VOID":
    case "EXPIRE":
      sums.voided += line.amount;
      sums.voids += 1n;
      break;
    case "ALLOCATION":
      break;
  }
}

function merge(into: Sums, from: Sums | undefined): void {
  if (!from) return;
  into.debits += from.debits;
  into.calls += from.calls;
  into.refill += from.refill;
  into.refills += from.refills;
  into.voided += from.voided;
  into.voids += from.voids;
  into.overBudget += from.overBudget;
  for (const [k, v] of from.byService) bump(into.byService, k, v);
  for (const [k, v] of from.byAgent) bump(into.byAgent, k, v);
}

function bump(map: Map<string, bigint>, key: string, by: bigint): void {
  map.set(key, (map.get(key) ?? 0n) + by);
}
