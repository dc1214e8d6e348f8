import { rootIdFor } from "../../server/ledger/ids.js";
import type { ErrorMetadata } from "../../server/ledger/ledger-error.js";
import { Limits } from "../../server/ledger/limits.js";
import type { ReasonCode } from "../../server/ledger/reasons.js";
import type {
  ChargeKind,
  ChargeLine,
  HoldStatus,
  HoldView,
  Metadata,
  WalletView,
} from "../../server/ledger/types.js";

/**
 * The reference model of the ledger for the property test: the simplest correct reading of the
 * `LedgerStore` TSDoc, written without the stores' incremental bookkeeping. Balances are derived
 * from the lines, holds and children every time they are read (nothing is maintained), so a store
 * whose maintained figures drift disagrees with it.
 *
 * It takes already validated inputs (the property test never sends invalid ones) and answers
 * either a value or every refusal the TSDoc allows for that call: when several checks fail at
 * once the TSDoc does not order them, so any of them is a correct answer.
 */

/** One acceptable refusal: the reason and the metadata entries it must carry. */
export interface Refusal {
  reason: ReasonCode;
  metadata: ErrorMetadata;
}

export type ModelResult<T> = { ok: true; value: T } | { ok: false; refusals: Refusal[] };

interface Wallet {
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
}

interface Hold {
  id: string;
  walletId: string;
  amount: number;
  service: string;
  metadata: Metadata;
  status: HoldStatus;
  capturedAmount: number;
  createdAtMs: number;
  expiresAtMs: number;
}

/** What an idempotency record replays: the first outcome's ids and figures. */
type Recorded =
  | { op: "wallet"; walletId: string }
  | { op: "close"; walletId: string; returned: number }
  | { op: "spend"; line: ChargeLine; remaining: number }
  | { op: "authorize"; holdId: string; remaining: number }
  | { op: "resolve"; line: ChargeLine; holdId: string; remaining: number };

const refuse = (reason: ReasonCode, metadata: ErrorMetadata = {}): Refusal => ({
  reason,
  metadata,
});
const invalid = (field: string) => refuse("INVALID_ARGUMENT", { field });
const insufficient = (walletId: string, requested: number, available: number) =>
  refuse("INSUFFICIENT_CREDITS", {
    wallet_id: walletId,
    requested: String(requested),
    available: String(available),
  });

/** Canonical JSON with sorted keys, so metadata order never matters (as in the ledger). */
function canonical(value: unknown): string {
  if (value === undefined) return "null";
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`;
}

export class ReferenceLedger {
  /** Wallets in creation order. */
  readonly wallets = new Map<string, Wallet>();
  readonly holds = new Map<string, Hold>();
  /** Every line ever written, in writing order. */
  readonly lines: ChargeLine[] = [];
  private readonly counters = new Map<string, number>();
  private readonly records = new Map<string, { fingerprint: string; recorded: Recorded }>();

  constructor(private readonly maxDepth: number = Limits.maxDepth) {}

  // ---- derived figures ---------------------------------------------------------------------

  private children(walletId: string): Wallet[] {
    return [...this.wallets.values()].filter((w) => w.parentId === walletId);
  }

  private spent(walletId: string): number {
    return sumOf(this.lines.filter((l) => l.walletId === walletId && isDebit(l.kind)));
  }

  private held(walletId: string): number {
    let held = 0;
    for (const hold of this.holds.values()) {
      if (hold.walletId === walletId && hold.status === "open") held += hold.amount;
    }
    return held;
  }

  private allocated(walletId: string): number {
    return this.children(walletId)
      .filter((c) => c.status === "open")
      .reduce((s, c) => s + c.budget, 0);
  }

  /** What closed children consumed: their whole subtree's debits. */
  private settled(walletId: string): number {
    return this.children(walletId)
      .filter((c) => c.status === "closed")
      .reduce((s, c) => s + this.totalSpent(c.id), 0);
  }

  private totalSpent(walletId: string): number {
    return (
      this.spent(walletId) + this.children(walletId).reduce((s, c) => s + this.totalSpent(c.id), 0)
    );
  }

  /** Available as if open (a closed wallet reports 0). */
  private rawAvailable(w: Wallet): number {
    return (
      w.budget - this.spent(w.id) - this.held(w.id) - this.allocated(w.id) - this.settled(w.id)
    );
  }

  private exhausted(w: Wallet): boolean {
    if (w.status === "closed") return true;
    return (
      this.rawAvailable(w) <= 0 &&
      this.children(w.id).every((c) => c.status === "closed" || this.exhausted(c))
    );
  }

  view(walletId: string): WalletView {
    const w = this.wallets.get(walletId) as Wallet;
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
    };
  }

  holdView(holdId: string): HoldView {
    return { ...(this.holds.get(holdId) as Hold) };
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

  // ---- shared steps ------------------------------------------------------------------------

  private nextId(rootId: string, letter: "w" | "c" | "h"): string {
    const seq = (this.counters.get(rootId) ?? 0) + 1;
    this.counters.set(rootId, seq);
    return `${rootId}.${letter}${seq}`;
  }

  private writeLine(
    rootId: string,
    fields: Omit<ChargeLine, "id" | "overBudget"> & { overBudget?: boolean },
  ): ChargeLine {
    const line: ChargeLine = { id: this.nextId(rootId, "c"), overBudget: false, ...fields };
    this.lines.push(line);
    return line;
  }

  /** Expires every open hold of the tree whose time has come (any call on a tree does this). */
  private expire(rootId: string, nowMs: number): void {
    const due = [...this.holds.values()]
      .filter((h) => h.status === "open" && h.expiresAtMs <= nowMs && treeOf(h.walletId) === rootId)
      .sort((a, b) => a.expiresAtMs - b.expiresAtMs);
    for (const hold of due) {
      hold.status = "expired";
      this.writeLine(rootId, {
        walletId: hold.walletId,
        kind: "expire",
        amount: hold.amount,
        service: hold.service,
        metadata: hold.metadata,
        holdId: hold.id,
        requestId: "",
        createdAtMs: hold.expiresAtMs,
      });
    }
  }

  /** The wallet if it exists in `project` (expiring its tree's holds first), else undefined. */
  private find(project: string, walletId: string, nowMs: number): Wallet | undefined {
    if (this.wallets.has(treeOf(walletId))) this.expire(treeOf(walletId), nowMs);
    const wallet = this.wallets.get(walletId);
    return wallet?.project === project ? wallet : undefined;
  }

  private findHold(project: string, holdId: string, nowMs: number): Hold | undefined {
    if (this.wallets.has(treeOf(holdId))) this.expire(treeOf(holdId), nowMs);
    const hold = this.holds.get(holdId);
    return hold && this.wallets.get(hold.walletId)?.project === project ? hold : undefined;
  }

  /**
   * Looks up a request id in the tree: "new" when unseen, the recorded outcome when the
   * fingerprint matches, or the IDEMPOTENCY_KEY_REUSED refusal.
   */
  private recall(
    rootId: string,
    requestId: string,
    fingerprint: string,
  ): "new" | Recorded | Refusal {
    const record = this.records.get(`${rootId}\0${requestId}`);
    if (record === undefined) return "new";
    if (record.fingerprint !== fingerprint) {
      return refuse("IDEMPOTENCY_KEY_REUSED", { field: "request_id" });
    }
    return record.recorded;
  }

  private remember(rootId: string, requestId: string, fingerprint: string, recorded: Recorded) {
    this.records.set(`${rootId}\0${requestId}`, { fingerprint, recorded });
  }

  private replay<T>(recalled: Recorded | Refusal, answer: (r: Recorded) => T): ModelResult<T> {
    if ("reason" in recalled) return { ok: false, refusals: [recalled] };
    return { ok: true, value: answer(recalled) };
  }

  // ---- operations --------------------------------------------------------------------------

  createWallet(
    project: string,
    input: {
      parentId: string;
      name: string;
      budget: number;
      hardCap: boolean | undefined;
      metadata: Metadata;
      requestId: string;
    },
    nowMs: number,
  ): ModelResult<WalletView> {
    const { requestId, ...params } = input;
    const fingerprint = canonical(["createWallet", params]);
    if (input.parentId === "") {
      const rootId = rootIdFor(project, requestId);
      if (this.wallets.has(rootId)) {
        this.expire(rootId, nowMs);
        const recalled = this.recall(rootId, requestId, fingerprint);
        if (recalled === "new") throw new Error(`root ${rootId} exists without its record`);
        return this.replay(recalled, () => this.view(rootId));
      }
      this.wallets.set(rootId, {
        id: rootId,
        rootId,
        parentId: "",
        project,
        depth: 1,
        name: input.name,
        budget: input.budget,
        hardCap: input.hardCap ?? true,
        metadata: input.metadata,
        status: "open",
        createdAtMs: nowMs,
      });
      this.remember(rootId, requestId, fingerprint, { op: "wallet", walletId: rootId });
      return { ok: true, value: this.view(rootId) };
    }
    const parent = this.find(project, input.parentId, nowMs);
    if (parent === undefined) return { ok: false, refusals: [refuse("WALLET_NOT_FOUND")] };
    const recalled = this.recall(parent.rootId, requestId, fingerprint);
    if (recalled !== "new") {
      return this.replay(recalled, (r) => this.view((r as { walletId: string }).walletId));
    }
    const refusals: Refusal[] = [];
    if (parent.status === "closed") refusals.push(refuse("WALLET_CLOSED"));
    if (parent.depth + 1 > this.maxDepth) refusals.push(invalid("parent_id"));
    if (parent.hardCap && input.hardCap === false) refusals.push(invalid("hard_cap"));
    const available = this.rawAvailable(parent);
    if (parent.status === "open" && available < input.budget) {
      refusals.push(insufficient(parent.id, input.budget, available));
    }
    if (refusals.length > 0) return { ok: false, refusals };
    const id = this.nextId(parent.rootId, "w");
    this.wallets.set(id, {
      id,
      rootId: parent.rootId,
      parentId: parent.id,
      project,
      depth: parent.depth + 1,
      name: input.name,
      budget: input.budget,
      hardCap: input.hardCap ?? parent.hardCap,
      metadata: input.metadata,
      status: "open",
      createdAtMs: nowMs,
    });
    this.remember(parent.rootId, requestId, fingerprint, { op: "wallet", walletId: id });
    return { ok: true, value: this.view(id) };
  }

  /** A read: expires the tree's due holds, as every store call does. */
  getWallet(project: string, walletId: string, nowMs: number): ModelResult<WalletView> {
    const wallet = this.find(project, walletId, nowMs);
    if (wallet === undefined) return { ok: false, refusals: [refuse("WALLET_NOT_FOUND")] };
    return { ok: true, value: this.view(walletId) };
  }

  addCredits(
    project: string,
    input: { walletId: string; amount: number; metadata: Metadata; requestId: string },
    nowMs: number,
  ): ModelResult<WalletView> {
    const { requestId, ...params } = input;
    const wallet = this.find(project, input.walletId, nowMs);
    if (wallet === undefined) return { ok: false, refusals: [refuse("WALLET_NOT_FOUND")] };
    const recalled = this.recall(wallet.rootId, requestId, canonical(["addCredits", params]));
    if (recalled !== "new") return this.replay(recalled, () => this.view(wallet.id));
    const refusals: Refusal[] = [];
    const parent = this.wallets.get(wallet.parentId);
    if (wallet.status === "closed") refusals.push(refuse("WALLET_CLOSED"));
    else if (parent === undefined && wallet.budget + input.amount > Limits.maxCredits) {
      refusals.push(invalid("amount"));
    } else if (parent !== undefined && this.rawAvailable(parent) < input.amount) {
      refusals.push(insufficient(parent.id, input.amount, this.rawAvailable(parent)));
    }
    if (refusals.length > 0) return { ok: false, refusals };
    wallet.budget += input.amount;
    this.writeLine(wallet.rootId, {
      walletId: wallet.id,
      kind: parent === undefined ? "refill" : "allocation",
      amount: input.amount,
      service: "",
      metadata: input.metadata,
      holdId: "",
      requestId,
      createdAtMs: nowMs,
    });
    this.remember(wallet.rootId, requestId, canonical(["addCredits", params]), {
      op: "wallet",
      walletId: wallet.id,
    });
    return { ok: true, value: this.view(wallet.id) };
  }

  closeWallet(
    project: string,
    input: { walletId: string; requestId: string },
    nowMs: number,
  ): ModelResult<{ wallet: WalletView; returned: number }> {
    const { requestId, ...params } = input;
    const fingerprint = canonical(["closeWallet", params]);
    const wallet = this.find(project, input.walletId, nowMs);
    if (wallet === undefined) return { ok: false, refusals: [refuse("WALLET_NOT_FOUND")] };
    const recalled = this.recall(wallet.rootId, requestId, fingerprint);
    if (recalled !== "new") {
      return this.replay(recalled, (r) => ({
        wallet: this.view(wallet.id),
        returned: (r as { returned: number }).returned,
      }));
    }
    if (wallet.status === "closed") return { ok: false, refusals: [refuse("WALLET_CLOSED")] };
    const closeDeepestFirst = (w: Wallet) => {
      for (const child of this.children(w.id))
        if (child.status === "open") closeDeepestFirst(child);
      for (const hold of this.holds.values()) {
        if (hold.walletId !== w.id || hold.status !== "open") continue;
        hold.status = "voided";
        this.writeLine(w.rootId, {
          walletId: w.id,
          kind: "void",
          amount: hold.amount,
          service: hold.service,
          metadata: hold.metadata,
          holdId: hold.id,
          requestId,
          createdAtMs: nowMs,
        });
      }
      w.status = "closed";
    };
    closeDeepestFirst(wallet);
    const returned =
      wallet.parentId === "" ? 0 : wallet.budget - this.spent(wallet.id) - this.settled(wallet.id);
    this.remember(wallet.rootId, requestId, fingerprint, {
      op: "close",
      walletId: wallet.id,
      returned,
    });
    return { ok: true, value: { wallet: this.view(wallet.id), returned } };
  }

  /** The refusals a debit or reservation of `amount` on `wallet` meets (spend and authorize). */
  private capRefusals(wallet: Wallet, amount: number): Refusal[] {
    if (wallet.status === "closed") return [refuse("WALLET_CLOSED")];
    const available = this.rawAvailable(wallet);
    if (wallet.hardCap && available < amount) return [insufficient(wallet.id, amount, available)];
    if (!wallet.hardCap && this.totalSpent(wallet.rootId) + amount > Limits.maxCredits) {
      return [invalid("amount")];
    }
    return [];
  }

  spend(
    project: string,
    input: {
      walletId: string;
      amount: number;
      service: string;
      metadata: Metadata;
      requestId: string;
    },
    nowMs: number,
  ): ModelResult<{ line: ChargeLine; remaining: number }> {
    const { requestId, ...params } = input;
    const fingerprint = canonical(["spend", params]);
    const wallet = this.find(project, input.walletId, nowMs);
    if (wallet === undefined) return { ok: false, refusals: [refuse("WALLET_NOT_FOUND")] };
    const recalled = this.recall(wallet.rootId, requestId, fingerprint);
    if (recalled !== "new") {
      return this.replay(recalled, (r) => {
        const { line, remaining } = r as { line: ChargeLine; remaining: number };
        return { line, remaining };
      });
    }
    const refusals = this.capRefusals(wallet, input.amount);
    if (refusals.length > 0) return { ok: false, refusals };
    const remaining = this.rawAvailable(wallet) - input.amount;
    const line = this.writeLine(wallet.rootId, {
      walletId: wallet.id,
      kind: "spend",
      amount: input.amount,
      service: input.service,
      metadata: input.metadata,
      overBudget: remaining < 0,
      holdId: "",
      requestId,
      createdAtMs: nowMs,
    });
    this.remember(wallet.rootId, requestId, fingerprint, { op: "spend", line, remaining });
    return { ok: true, value: { line, remaining } };
  }

  authorize(
    project: string,
    input: {
      walletId: string;
      amount: number;
      service: string;
      metadata: Metadata;
      ttlSeconds: number;
      requestId: string;
    },
    nowMs: number,
  ): ModelResult<{ hold: HoldView; remaining: number }> {
    const { requestId, ...params } = input;
    const fingerprint = canonical(["authorize", params]);
    const wallet = this.find(project, input.walletId, nowMs);
    if (wallet === undefined) return { ok: false, refusals: [refuse("WALLET_NOT_FOUND")] };
    const recalled = this.recall(wallet.rootId, requestId, fingerprint);
    if (recalled !== "new") {
      return this.replay(recalled, (r) => {
        const { holdId, remaining } = r as { holdId: string; remaining: number };
        return { hold: this.holdView(holdId), remaining };
      });
    }
    const refusals = this.capRefusals(wallet, input.amount);
    if (refusals.length > 0) return { ok: false, refusals };
    const id = this.nextId(wallet.rootId, "h");
    this.holds.set(id, {
      id,
      walletId: wallet.id,
      amount: input.amount,
      service: input.service,
      metadata: input.metadata,
      status: "open",
      capturedAmount: 0,
      createdAtMs: nowMs,
      expiresAtMs: nowMs + input.ttlSeconds * 1000,
    });
    const remaining = this.rawAvailable(wallet);
    this.remember(wallet.rootId, requestId, fingerprint, {
      op: "authorize",
      holdId: id,
      remaining,
    });
    return { ok: true, value: { hold: this.holdView(id), remaining } };
  }

  /** Capture (with `amount`) or void (without) of an open hold. */
  resolve(
    project: string,
    input: { holdId: string; amount?: number; metadata?: Metadata; requestId: string },
    nowMs: number,
  ): ModelResult<{ line: ChargeLine; hold: HoldView; remaining: number }> {
    const { requestId, ...params } = input;
    const op = input.amount === undefined ? "void" : "capture";
    const fingerprint = canonical([op, params]);
    const hold = this.findHold(project, input.holdId, nowMs);
    if (hold === undefined) return { ok: false, refusals: [refuse("HOLD_NOT_FOUND")] };
    const wallet = this.wallets.get(hold.walletId) as Wallet;
    const recalled = this.recall(wallet.rootId, requestId, fingerprint);
    if (recalled !== "new") {
      return this.replay(recalled, (r) => {
        const { line, holdId, remaining } = r as {
          line: ChargeLine;
          holdId: string;
          remaining: number;
        };
        return { line, hold: this.holdView(holdId), remaining };
      });
    }
    const refusals: Refusal[] = [];
    if (hold.status === "expired") refusals.push(refuse("HOLD_EXPIRED"));
    if (hold.status === "captured" || hold.status === "voided") {
      refusals.push(refuse("HOLD_ALREADY_RESOLVED"));
    }
    if (input.amount !== undefined && input.amount > hold.amount) refusals.push(invalid("amount"));
    if (refusals.length > 0) return { ok: false, refusals };
    const kind: ChargeKind = input.amount === undefined ? "void" : "capture";
    hold.status = input.amount === undefined ? "voided" : "captured";
    hold.capturedAmount = input.amount ?? 0;
    // The hold no longer counts as held; a capture's own line is not written yet.
    const remaining = this.rawAvailable(wallet) - (input.amount ?? 0);
    const line = this.writeLine(wallet.rootId, {
      walletId: wallet.id,
      kind,
      amount: input.amount ?? hold.amount,
      service: hold.service,
      metadata: kind === "capture" ? { ...hold.metadata, ...input.metadata } : hold.metadata,
      overBudget: kind === "capture" && remaining < 0,
      holdId: hold.id,
      requestId,
      createdAtMs: nowMs,
    });
    this.remember(wallet.rootId, requestId, fingerprint, {
      op: "resolve",
      line,
      holdId: hold.id,
      remaining,
    });
    return { ok: true, value: { line, hold: this.holdView(hold.id), remaining } };
  }
}

function isDebit(kind: ChargeKind): boolean {
  return kind === "spend" || kind === "capture";
}

function sumOf(lines: ChargeLine[]): number {
  return lines.reduce((s, l) => s + l.amount, 0);
}

function treeOf(id: string): string {
  const dot = id.indexOf(".");
  return dot === -1 ? id : id.slice(0, dot);
}
