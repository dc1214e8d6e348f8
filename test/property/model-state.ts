import { lineHash } from "../../client/line-hash.js";
import type {
  ChargeLine,
  EventKind,
  HoldStatus,
  HoldView,
  LedgerEvent,
  Metadata,
  WalletView,
} from "../../server/ledger/types.js";

/**
 * The reference model's state: wallets, holds and lines, nothing else. Every balance is derived
 * from them each time it is read (nothing is maintained incrementally), so a store whose
 * maintained figures drift disagrees with the model. The event log records what happened, with
 * balances derived the same way; the alert flags are state by definition (docs/events.md).
 */

export interface ModelWallet {
  id: string;
  rootId: string;
  parentId: string;
  project: string;
  depth: number;
  name: string;
  budget: number;
  hardCap: boolean;
  metadata: Metadata;
  status: "open" | "closed";
  createdAtMs: number;
  alertThresholds: number[];
  /** Thresholds alerted since last armed. */
  alertLevel: number;
  /** Soft cap alerted since last armed. */
  overAlerted: boolean;
}

export type ModelHold = HoldView & { status: HoldStatus };

export function treeOf(id: string): string {
  const dot = id.indexOf(".");
  return dot === -1 ? id : id.slice(0, dot);
}

const isDebit = (line: ChargeLine) => line.kind === "spend" || line.kind === "capture";

export class ModelState {
  /** Wallets in creation order. */
  readonly wallets = new Map<string, ModelWallet>();
  readonly holds = new Map<string, ModelHold>();
  /** Every line ever written, in writing order. */
  readonly lines: ChargeLine[] = [];
  private readonly counters = new Map<string, number>();
  /** Each tree's event log, every event ever appended (the property test keeps them all). */
  readonly events = new Map<string, LedgerEvent[]>();
  /** Hash of each tree's last line, the next line's `prevHash` (docs/events.md#the-hash-chain). */
  private readonly lastHash = new Map<string, string>();

  // ---- derived figures (docs/ledger.md#wallet-figures) ---------------------------------------

  protected children(walletId: string): ModelWallet[] {
    return [...this.wallets.values()].filter((w) => w.parentId === walletId);
  }

  protected spent(walletId: string): number {
    return this.lines
      .filter((l) => l.walletId === walletId && isDebit(l))
      .reduce((s, l) => s + l.amount, 0);
  }

  protected held(walletId: string): number {
    return [...this.holds.values()]
      .filter((h) => h.walletId === walletId && h.status === "open")
      .reduce((s, h) => s + h.amount, 0);
  }

  /** Budgets of the open children. */
  protected allocated(walletId: string): number {
    return this.children(walletId)
      .filter((c) => c.status === "open")
      .reduce((s, c) => s + c.budget, 0);
  }

  /** What the closed children consumed: their whole subtree's debits. */
  protected settled(walletId: string): number {
    return this.children(walletId)
      .filter((c) => c.status === "closed")
      .reduce((s, c) => s + this.totalSpent(c.id), 0);
  }

  protected totalSpent(walletId: string): number {
    return this.children(walletId).reduce(
      (s, c) => s + this.totalSpent(c.id),
      this.spent(walletId),
    );
  }

  /** Available as if open (a closed wallet reports 0). */
  protected rawAvailable(w: ModelWallet): number {
    return (
      w.budget - this.spent(w.id) - this.held(w.id) - this.allocated(w.id) - this.settled(w.id)
    );
  }

  protected exhausted(w: ModelWallet): boolean {
    if (w.status === "closed") return true;
    return (
      this.rawAvailable(w) <= 0 &&
      this.children(w.id).every((c) => c.status === "closed" || this.exhausted(c))
    );
  }

  view(walletId: string): WalletView {
    const w = this.wallets.get(walletId) as ModelWallet;
    return {
      id: w.id,
      rootId: w.rootId,
      parentId: w.parentId,
      depth: w.depth,
      name: w.name,
      budget: w.budget,
      hardCap: w.hardCap,
      metadata: w.metadata,
      spent: this.spent(w.id),
      held: this.held(w.id),
      allocated: this.allocated(w.id),
      settled: this.settled(w.id),
      available: w.status === "open" ? this.rawAvailable(w) : 0,
      totalSpent: this.totalSpent(w.id),
      status: w.status,
      exhausted: this.exhausted(w),
      createdAtMs: w.createdAtMs,
      alertThresholds: [...w.alertThresholds],
    };
  }

  holdView(holdId: string): HoldView {
    return { ...(this.holds.get(holdId) as ModelHold) };
  }

  /** Every wallet of the tree, parents before children (as a depth-first listing gives them). */
  treeViews(rootId: string): WalletView[] {
    const out: WalletView[] = [];
    const visit = (id: string) => {
      out.push(this.view(id));
      for (const child of this.children(id)) visit(child.id);
    };
    visit(rootId);
    return out;
  }

  // ---- writing -------------------------------------------------------------------------------

  /** The next id of the tree: one counter for wallets, holds and lines. */
  protected nextId(rootId: string, letter: "w" | "c" | "h"): string {
    const seq = (this.counters.get(rootId) ?? 0) + 1;
    this.counters.set(rootId, seq);
    return `${rootId}.${letter}${seq}`;
  }

  /**
   * Appends an event about a wallet to its tree's log, with the wallet's balances as derived
   * now; `ms` is the call's clock, or the previous event's if later.
   */
  protected logEvent(
    walletId: string,
    nowMs: number,
    kind: EventKind,
    detail: Pick<LedgerEvent, "line" | "holdId" | "thresholdPercent"> = {},
  ): void {
    const view = this.view(walletId);
    const log = this.events.get(view.rootId) ?? [];
    this.events.set(view.rootId, log);
    log.push({
      seq: log.length + 1,
      ms: Math.max(nowMs, log.at(-1)?.ms ?? 0),
      rootId: view.rootId,
      kind,
      walletId,
      ...detail,
      balances: {
        budget: view.budget,
        spent: view.spent,
        held: view.held,
        allocated: view.allocated,
        available: view.available,
        totalSpent: view.totalSpent,
      },
    });
  }

  /**
   * Writes a line, linked after its tree's previous line in writing (= commit) order, and its
   * event at `nowMs`, the clock of the call writing it.
   */
  protected writeLine(
    fields: Omit<ChargeLine, "id" | "overBudget" | "hash" | "prevHash"> & { overBudget?: boolean },
    nowMs: number,
  ): ChargeLine {
    const rootId = treeOf(fields.walletId);
    const unhashed = {
      id: this.nextId(rootId, "c"),
      overBudget: false,
      ...fields,
      prevHash: this.lastHash.get(rootId) ?? "",
    };
    const line: ChargeLine = { ...unhashed, hash: lineHash(unhashed) };
    this.lastHash.set(rootId, line.hash);
    this.lines.push(line);
    this.logEvent(line.walletId, nowMs, line.kind, { line });
    return line;
  }

  /** Releases a hold with a void (or expire) line. */
  protected release(
    hold: ModelHold,
    kind: "void" | "expire",
    requestId: string,
    atMs: number,
    nowMs: number,
  ) {
    hold.status = kind === "void" ? "voided" : "expired";
    return this.writeLine(
      {
        walletId: hold.walletId,
        kind,
        amount: hold.amount,
        service: hold.service,
        metadata: hold.metadata,
        holdId: hold.id,
        requestId,
        createdAtMs: atMs,
      },
      nowMs,
    );
  }

  /** Expires every open hold of the tree whose time has come (any call on a tree does this). */
  protected expire(rootId: string, nowMs: number): void {
    const due = [...this.holds.values()]
      .filter((h) => h.status === "open" && h.expiresAtMs <= nowMs && treeOf(h.id) === rootId)
      .sort((a, b) => a.expiresAtMs - b.expiresAtMs);
    for (const hold of due) this.release(hold, "expire", "", hold.expiresAtMs, nowMs);
  }

  /** The wallet if it exists in `project` (expiring its tree's holds first), else undefined. */
  protected find(project: string, walletId: string, nowMs: number): ModelWallet | undefined {
    if (this.wallets.has(treeOf(walletId))) this.expire(treeOf(walletId), nowMs);
    const wallet = this.wallets.get(walletId);
    return wallet?.project === project ? wallet : undefined;
  }

  protected findHold(project: string, holdId: string, nowMs: number): ModelHold | undefined {
    if (this.wallets.has(treeOf(holdId))) this.expire(treeOf(holdId), nowMs);
    const hold = this.holds.get(holdId);
    return hold && this.wallets.get(hold.walletId)?.project === project ? hold : undefined;
  }
}
