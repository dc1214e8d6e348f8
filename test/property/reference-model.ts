import { rootIdFor } from "../../server/ledger/ids.js";
import type { ErrorMetadata } from "../../server/ledger/ledger-error.js";
import { Limits } from "../../server/ledger/limits.js";
import type { ReasonCode } from "../../server/ledger/reasons.js";
import type { ChargeLine, HoldView, Metadata, WalletView } from "../../server/ledger/types.js";
import { ModelState, type ModelWallet } from "./model-state.js";

/**
 * The reference model of the ledger for the property test: the simplest correct reading of the
 * `LedgerStore` TSDoc, written without the stores' incremental bookkeeping (see ModelState).
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

export interface CreateWalletFields {
  parentId: string;
  name: string;
  budget: number;
  hardCap: boolean | undefined;
  metadata: Metadata;
  /** Undefined or empty: the default. */
  alertThresholds?: number[];
  requestId: string;
}

/** The thresholds a wallet gets when none are asked for (docs/events.md#budget-alerts). */
const defaultAlertThresholds = [50, 80, 100];

export interface AddCreditsFields {
  walletId: string;
  amount: number;
  metadata: Metadata;
  requestId: string;
}

export interface SpendFields {
  walletId: string;
  amount: number;
  service: string;
  metadata: Metadata;
  requestId: string;
}

export interface AuthorizeFields extends SpendFields {
  ttlSeconds: number;
}

/** Capture when `amount` is given, void when not. */
export interface ResolveFields {
  holdId: string;
  amount?: number;
  metadata?: Metadata;
  requestId: string;
}

type Resolved = { line: ChargeLine; hold: HoldView; remaining: number };

const refuse = (reason: ReasonCode, metadata: ErrorMetadata = {}): Refusal => ({
  reason,
  metadata,
});
const refused = <T>(...refusals: Refusal[]): ModelResult<T> => ({ ok: false, refusals });
const invalid = (field: string) => refuse("INVALID_ARGUMENT", { field });
/** Not found names the id asked for (the parent, for a carve-out). */
const walletNotFound = (walletId: string) => refuse("WALLET_NOT_FOUND", { wallet_id: walletId });
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

export class ReferenceLedger extends ModelState {
  /**
   * Idempotency records per tree and request id. `replay` answers a repeat: the first outcome's
   * ids and figures, with the wallet or hold as it is at the time of the repeat.
   */
  private readonly records = new Map<string, { fingerprint: string; replay: () => unknown }>();

  constructor(private readonly maxDepth: number = Limits.maxDepth) {
    super();
  }

  /** The recorded answer (or IDEMPOTENCY_KEY_REUSED) for a seen request id; undefined if new. */
  private recall<T>(rootId: string, requestId: string, fingerprint: string) {
    const record = this.records.get(`${rootId}\0${requestId}`);
    if (record === undefined) return undefined;
    if (record.fingerprint !== fingerprint) {
      return refused<T>(refuse("IDEMPOTENCY_KEY_REUSED", { field: "request_id" }));
    }
    return { ok: true, value: record.replay() as T } as const;
  }

  /** Records a success and returns it. Refusals are never recorded: they may be retried. */
  private remember<T>(
    rootId: string,
    requestId: string,
    fingerprint: string,
    replay: () => T,
  ): ModelResult<T> {
    this.records.set(`${rootId}\0${requestId}`, { fingerprint, replay });
    return { ok: true, value: replay() };
  }

  createWallet(project: string, input: CreateWalletFields, nowMs: number): ModelResult<WalletView> {
    const { requestId, ...params } = input;
    const fingerprint = canonical(["createWallet", params]);
    const parent = input.parentId === "" ? undefined : this.find(project, input.parentId, nowMs);
    if (input.parentId !== "" && parent === undefined) {
      return refused(walletNotFound(input.parentId));
    }
    const rootId = parent?.rootId ?? rootIdFor(project, requestId);
    if (this.wallets.has(rootId)) this.expire(rootId, nowMs);
    const replayed = this.recall<WalletView>(rootId, requestId, fingerprint);
    if (replayed !== undefined) return replayed;

    if (parent === undefined && this.wallets.has(rootId)) {
      throw new Error(`model: root ${rootId} exists without its idempotency record`);
    }
    if (parent !== undefined) {
      const refusals: Refusal[] = [];
      if (parent.status === "closed") refusals.push(refuse("WALLET_CLOSED"));
      if (parent.depth + 1 > this.maxDepth) refusals.push(invalid("parent_id"));
      if (parent.hardCap && input.hardCap === false) refusals.push(invalid("hard_cap"));
      const available = this.rawAvailable(parent);
      if (parent.status === "open" && available < input.budget) {
        refusals.push(insufficient(parent.id, input.budget, available));
      }
      if (refusals.length > 0) return refused(...refusals);
    }
    const wallet: ModelWallet = {
      id: parent === undefined ? rootId : this.nextId(rootId, "w"),
      rootId,
      parentId: parent?.id ?? "",
      project,
      depth: (parent?.depth ?? 0) + 1,
      name: input.name,
      budget: input.budget,
      // A root is hard-capped unless asked otherwise; a child inherits unless asked.
      hardCap: input.hardCap ?? parent?.hardCap ?? true,
      metadata: input.metadata,
      status: "open",
      createdAtMs: nowMs,
      alertThresholds:
        input.alertThresholds === undefined || input.alertThresholds.length === 0
          ? defaultAlertThresholds
          : [...input.alertThresholds].sort((a, b) => a - b),
      alertLevel: 0,
      overAlerted: false,
    };
    const parentBefore = parent === undefined ? 0 : this.rawAvailable(parent);
    this.wallets.set(wallet.id, wallet);
    this.logEvent(wallet.id, nowMs, "wallet_created");
    if (parent !== undefined) this.exhaustion(parent, parentBefore, nowMs);
    return this.remember(rootId, requestId, fingerprint, () => this.view(wallet.id));
  }

  /** A read: expires the tree's due holds, as every store call does. */
  getWallet(project: string, walletId: string, nowMs: number): ModelResult<WalletView> {
    const wallet = this.find(project, walletId, nowMs);
    if (wallet === undefined) return refused(walletNotFound(walletId));
    return { ok: true, value: this.view(walletId) };
  }

  addCredits(project: string, input: AddCreditsFields, nowMs: number): ModelResult<WalletView> {
    const { requestId, ...params } = input;
    const fingerprint = canonical(["addCredits", params]);
    const wallet = this.find(project, input.walletId, nowMs);
    if (wallet === undefined) return refused(walletNotFound(input.walletId));
    const replayed = this.recall<WalletView>(wallet.rootId, requestId, fingerprint);
    if (replayed !== undefined) return replayed;
    const parent = this.wallets.get(wallet.parentId);
    if (wallet.status === "closed") return refused(refuse("WALLET_CLOSED"));
    if (parent === undefined && wallet.budget + input.amount > Limits.maxCredits) {
      return refused(invalid("amount"));
    }
    if (parent !== undefined && this.rawAvailable(parent) < input.amount) {
      return refused(insufficient(parent.id, input.amount, this.rawAvailable(parent)));
    }
    const parentBefore = parent === undefined ? 0 : this.rawAvailable(parent);
    wallet.budget += input.amount;
    // Re-armed against the larger budget: the level drops to what is crossed now, and the soft
    // cap once the wallet is back to available >= 0.
    wallet.alertLevel = Math.min(wallet.alertLevel, this.crossed(wallet));
    if (this.rawAvailable(wallet) >= 0) wallet.overAlerted = false;
    this.writeLine(
      {
        walletId: wallet.id,
        // A root's top-up is new money; a child's extra budget is drawn from its parent.
        kind: parent === undefined ? "refill" : "allocation",
        amount: input.amount,
        service: "",
        metadata: input.metadata,
        holdId: "",
        requestId,
        createdAtMs: nowMs,
      },
      nowMs,
    );
    if (parent !== undefined) this.exhaustion(parent, parentBefore, nowMs);
    return this.remember(wallet.rootId, requestId, fingerprint, () => this.view(wallet.id));
  }

  closeWallet(
    project: string,
    input: { walletId: string; requestId: string },
    nowMs: number,
  ): ModelResult<{ wallet: WalletView; returned: number }> {
    const { requestId, ...params } = input;
    const fingerprint = canonical(["closeWallet", params]);
    const wallet = this.find(project, input.walletId, nowMs);
    if (wallet === undefined) return refused(walletNotFound(input.walletId));
    const replayed = this.recall<{ wallet: WalletView; returned: number }>(
      wallet.rootId,
      requestId,
      fingerprint,
    );
    if (replayed !== undefined) return replayed;
    if (wallet.status === "closed") return refused(refuse("WALLET_CLOSED"));
    const closeDeepestFirst = (w: ModelWallet) => {
      for (const child of this.children(w.id)) {
        if (child.status === "open") closeDeepestFirst(child);
      }
      for (const hold of this.holds.values()) {
        if (hold.walletId === w.id && hold.status === "open") {
          this.release(hold, "void", requestId, nowMs, nowMs);
        }
      }
      w.status = "closed";
      this.logEvent(w.id, nowMs, "wallet_closed");
    };
    closeDeepestFirst(wallet);
    // What the wallet did not consume goes back to its parent (a root has no parent).
    const returned =
      wallet.parentId === "" ? 0 : wallet.budget - this.spent(wallet.id) - this.settled(wallet.id);
    return this.remember(wallet.rootId, requestId, fingerprint, () => ({
      wallet: this.view(wallet.id),
      returned,
    }));
  }

  /** The refusals a debit or a reservation of `amount` meets (spend and authorize alike). */
  private capRefusals(wallet: ModelWallet, amount: number): Refusal[] {
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
    input: SpendFields,
    nowMs: number,
  ): ModelResult<{ line: ChargeLine; remaining: number }> {
    const { requestId, ...params } = input;
    const fingerprint = canonical(["spend", params]);
    const wallet = this.find(project, input.walletId, nowMs);
    if (wallet === undefined) return refused(walletNotFound(input.walletId));
    const replayed = this.recall<{ line: ChargeLine; remaining: number }>(
      wallet.rootId,
      requestId,
      fingerprint,
    );
    if (replayed !== undefined) return replayed;
    const refusals = this.capRefusals(wallet, input.amount);
    if (refusals.length > 0) return refused(...refusals);
    const before = this.rawAvailable(wallet);
    const remaining = before - input.amount;
    const line = this.writeLine(
      {
        ...params,
        kind: "spend",
        overBudget: remaining < 0,
        holdId: "",
        requestId,
        createdAtMs: nowMs,
      },
      nowMs,
    );
    this.debitAlerts(wallet, line, before, nowMs);
    return this.remember(wallet.rootId, requestId, fingerprint, () => ({ line, remaining }));
  }

  authorize(
    project: string,
    input: AuthorizeFields,
    nowMs: number,
  ): ModelResult<{ hold: HoldView; remaining: number }> {
    const { requestId, ...params } = input;
    const fingerprint = canonical(["authorize", params]);
    const wallet = this.find(project, input.walletId, nowMs);
    if (wallet === undefined) return refused(walletNotFound(input.walletId));
    const replayed = this.recall<{ hold: HoldView; remaining: number }>(
      wallet.rootId,
      requestId,
      fingerprint,
    );
    if (replayed !== undefined) return replayed;
    const refusals = this.capRefusals(wallet, input.amount);
    if (refusals.length > 0) return refused(...refusals);
    const before = this.rawAvailable(wallet);
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
    this.logEvent(wallet.id, nowMs, "hold_placed", { holdId: id });
    this.exhaustion(wallet, before, nowMs);
    const remaining = this.rawAvailable(wallet);
    return this.remember(wallet.rootId, requestId, fingerprint, () => ({
      hold: this.holdView(id),
      remaining,
    }));
  }

  /** Capture (with `amount`) or void (without) of a hold. */
  resolve(project: string, input: ResolveFields, nowMs: number): ModelResult<Resolved> {
    const { requestId, ...params } = input;
    const capturing = input.amount !== undefined;
    const fingerprint = canonical([capturing ? "capture" : "void", params]);
    const hold = this.findHold(project, input.holdId, nowMs);
    if (hold === undefined) {
      return refused(refuse("HOLD_NOT_FOUND", { hold_id: input.holdId }));
    }
    const wallet = this.wallets.get(hold.walletId) as ModelWallet;
    const replayed = this.recall<Resolved>(wallet.rootId, requestId, fingerprint);
    if (replayed !== undefined) return replayed;
    const refusals: Refusal[] = [];
    if (hold.status === "expired") refusals.push(refuse("HOLD_EXPIRED"));
    if (hold.status === "captured" || hold.status === "voided") {
      refusals.push(refuse("HOLD_ALREADY_RESOLVED"));
    }
    if (capturing && (input.amount as number) > hold.amount) refusals.push(invalid("amount"));
    if (refusals.length > 0) return refused(...refusals);
    let line: ChargeLine;
    let remaining: number;
    if (capturing) {
      const amount = input.amount as number;
      const before = this.rawAvailable(wallet);
      hold.status = "captured";
      hold.capturedAmount = amount;
      // The hold no longer counts as held; the capture's own line is not written yet.
      remaining = this.rawAvailable(wallet) - amount;
      line = this.writeLine(
        {
          walletId: wallet.id,
          kind: "capture",
          amount,
          service: hold.service,
          metadata: { ...hold.metadata, ...input.metadata },
          overBudget: remaining < 0,
          holdId: hold.id,
          requestId,
          createdAtMs: nowMs,
        },
        nowMs,
      );
      this.debitAlerts(wallet, line, before, nowMs);
    } else {
      line = this.release(hold, "void", requestId, nowMs, nowMs);
      remaining = this.rawAvailable(wallet);
    }
    return this.remember(wallet.rootId, requestId, fingerprint, () => ({
      line,
      hold: this.holdView(hold.id),
      remaining,
    }));
  }

  // ---- alerts (docs/events.md#budget-alerts) ---------------------------------------------------

  /**
   * How many of the wallet's thresholds its subtree's debits reach: t is reached when
   * totalSpent > 0 and totalSpent >= t% of the budget, i.e. 100 * totalSpent >= t * budget, in
   * exact big integers.
   */
  private crossed(w: ModelWallet): number {
    const total = BigInt(this.totalSpent(w.id));
    if (total === 0n) return 0;
    return w.alertThresholds.filter((t) => 100n * total >= BigInt(t) * BigInt(w.budget)).length;
  }

  /** `wallet_exhausted` when a hard-capped open wallet's available went from above 0 to 0. */
  private exhaustion(w: ModelWallet, before: number, nowMs: number): void {
    if (w.hardCap && w.status === "open" && before > 0 && this.rawAvailable(w) === 0) {
      this.logEvent(w.id, nowMs, "wallet_exhausted");
    }
  }

  /** After a debit line: the soft cap or exhaustion, then thresholds from the wallet up. */
  private debitAlerts(wallet: ModelWallet, line: ChargeLine, before: number, nowMs: number) {
    if (wallet.hardCap) {
      this.exhaustion(wallet, before, nowMs);
    } else if (line.overBudget && !wallet.overAlerted) {
      wallet.overAlerted = true;
      this.logEvent(wallet.id, nowMs, "soft_cap_exceeded");
    }
    for (
      let w: ModelWallet | undefined = wallet;
      w !== undefined;
      w = this.wallets.get(w.parentId)
    ) {
      const crossed = this.crossed(w);
      for (let i = w.alertLevel; i < crossed; i++) {
        this.logEvent(w.id, nowMs, "threshold_crossed", {
          thresholdPercent: w.alertThresholds[i] as number,
        });
      }
      w.alertLevel = Math.max(w.alertLevel, crossed);
    }
  }
}
