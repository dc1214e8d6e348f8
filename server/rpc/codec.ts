import { ChargeKind, type Charge as ChargeMessage } from "../../gen/ts-proto/tollgate/v1/charge.js";
import {
  EventKind as EventKindMessage,
  type Event as EventMessage,
} from "../../gen/ts-proto/tollgate/v1/event_service.js";
import type {
  ChildReceipt as ChildReceiptMessage,
  ReceiptBreakdown,
  Receipt as ReceiptMessage,
} from "../../gen/ts-proto/tollgate/v1/receipt_service.js";
import {
  type Hold as HoldMessage,
  HoldStatus,
  type Wallet as WalletMessage,
  WalletStatus,
} from "../../gen/ts-proto/tollgate/v1/wallet.js";
import type { FeedEvent } from "../events/event-feed.js";
import type {
  Breakdown,
  ChargeLine,
  ChildReceipt,
  ChargeKind as DomainChargeKind,
  EventKind as DomainEventKind,
  HoldStatus as DomainHoldStatus,
  WalletStatus as DomainWalletStatus,
  HoldView,
  Receipt,
  WalletView,
} from "../ledger/types.js";

/**
 * Domain types -> generated messages. The ledger speaks safe-integer `number`s, epoch
 * milliseconds and string unions; the wire speaks int64 (`bigint` in ts-proto), Timestamps
 * (`Date`) and proto enums. Requests need no codec: their fields already have the names and
 * types the ledger's inputs accept (it takes `bigint | number` amounts and validates them).
 */

const walletStatus: Record<DomainWalletStatus, WalletStatus> = {
  open: WalletStatus.WALLET_STATUS_OPEN,
  closed: WalletStatus.WALLET_STATUS_CLOSED,
};

const holdStatus: Record<DomainHoldStatus, HoldStatus> = {
  open: HoldStatus.HOLD_STATUS_OPEN,
  captured: HoldStatus.HOLD_STATUS_CAPTURED,
  voided: HoldStatus.HOLD_STATUS_VOIDED,
  expired: HoldStatus.HOLD_STATUS_EXPIRED,
};

const chargeKind: Record<DomainChargeKind, ChargeKind> = {
  spend: ChargeKind.CHARGE_KIND_SPEND,
  capture: ChargeKind.CHARGE_KIND_CAPTURE,
  void: ChargeKind.CHARGE_KIND_VOID,
  expire: ChargeKind.CHARGE_KIND_EXPIRE,
  refill: ChargeKind.CHARGE_KIND_REFILL,
  allocation: ChargeKind.CHARGE_KIND_ALLOCATION,
};

/** Credits as int64. `BigInt` throws on a non-integer, which surfaces a store bug as INTERNAL. */
const int64 = (n: number): bigint => BigInt(n);

/** A wallet with its balances, as the wire's `tollgate.v1.Wallet`. */
export function walletToMessage(w: WalletView): WalletMessage {
  return {
    id: w.id,
    name: w.name,
    parentId: w.parentId,
    budget: int64(w.budget),
    hardCap: w.hardCap,
    metadata: { ...w.metadata },
    spent: int64(w.spent),
    held: int64(w.held),
    allocated: int64(w.allocated),
    settled: int64(w.settled),
    available: int64(w.available),
    totalSpent: int64(w.totalSpent),
    status: walletStatus[w.status],
    exhausted: w.exhausted,
    createdAt: new Date(w.createdAtMs),
    rootId: w.rootId,
    depth: w.depth,
    alertThresholds: [...w.alertThresholds],
  };
}

/** A hold, as `tollgate.v1.Hold`. */
export function holdToMessage(h: HoldView): HoldMessage {
  return {
    id: h.id,
    walletId: h.walletId,
    amount: int64(h.amount),
    service: h.service,
    metadata: { ...h.metadata },
    status: holdStatus[h.status],
    capturedAmount: int64(h.capturedAmount),
    createdAt: new Date(h.createdAtMs),
    expiresAt: new Date(h.expiresAtMs),
  };
}

/** A receipt line, as `tollgate.v1.Charge`. */
export function chargeToMessage(c: ChargeLine): ChargeMessage {
  return {
    id: c.id,
    walletId: c.walletId,
    kind: chargeKind[c.kind],
    amount: int64(c.amount),
    service: c.service,
    metadata: { ...c.metadata },
    overBudget: c.overBudget,
    gatewayFailure: c.gatewayFailure ?? "",
    holdId: c.holdId,
    requestId: c.requestId,
    createdAt: new Date(c.createdAtMs),
    hash: c.hash,
    prevHash: c.prevHash,
  };
}

/** A subtree receipt with its breakdowns and child summaries, as `tollgate.v1.Receipt`. */
export function receiptToMessage(r: Receipt): ReceiptMessage {
  return {
    walletId: r.walletId,
    name: r.name,
    totalCredits: int64(r.totalCredits),
    callCount: int64(r.callCount),
    ownCredits: int64(r.ownCredits),
    ownCallCount: int64(r.ownCallCount),
    byService: r.byService.map(breakdownToMessage),
    byServiceOther: breakdownToMessage(r.byServiceOther),
    serviceKeyCount: int64(r.serviceKeyCount),
    byAgent: r.byAgent.map(breakdownToMessage),
    byAgentOther: breakdownToMessage(r.byAgentOther),
    agentKeyCount: int64(r.agentKeyCount),
    refillCredits: int64(r.refillCredits),
    refillCount: int64(r.refillCount),
    voidedHoldCredits: int64(r.voidedHoldCredits),
    voidedHoldCount: int64(r.voidedHoldCount),
    overBudgetCount: int64(r.overBudgetCount),
    budget: int64(r.budget),
    available: int64(r.available),
    children: r.children.map(childReceiptToMessage),
    childCount: int64(r.childCount),
  };
}

/** One breakdown row, as `tollgate.v1.ReceiptBreakdown`. */
export function breakdownToMessage(b: Breakdown): ReceiptBreakdown {
  return { key: b.key, credits: int64(b.credits), callCount: int64(b.callCount) };
}

/** A child's summary, as `tollgate.v1.ChildReceipt`. */
export function childReceiptToMessage(c: ChildReceipt): ChildReceiptMessage {
  return {
    walletId: c.walletId,
    name: c.name,
    budget: int64(c.budget),
    totalCredits: int64(c.totalCredits),
    callCount: int64(c.callCount),
    available: int64(c.available),
    status: walletStatus[c.status],
    exhausted: c.exhausted,
  };
}

/** Domain event kinds by wire value, and back: the names are the enum's, lower-cased. */
const eventKindNames: Record<EventKindMessage, DomainEventKind | ""> = {
  [EventKindMessage.EVENT_KIND_UNSPECIFIED]: "",
  [EventKindMessage.UNRECOGNIZED]: "",
  [EventKindMessage.EVENT_KIND_SPEND]: "spend",
  [EventKindMessage.EVENT_KIND_CAPTURE]: "capture",
  [EventKindMessage.EVENT_KIND_VOID]: "void",
  [EventKindMessage.EVENT_KIND_EXPIRE]: "expire",
  [EventKindMessage.EVENT_KIND_REFILL]: "refill",
  [EventKindMessage.EVENT_KIND_ALLOCATION]: "allocation",
  [EventKindMessage.EVENT_KIND_WALLET_CREATED]: "wallet_created",
  [EventKindMessage.EVENT_KIND_WALLET_CLOSED]: "wallet_closed",
  [EventKindMessage.EVENT_KIND_HOLD_PLACED]: "hold_placed",
  [EventKindMessage.EVENT_KIND_THRESHOLD_CROSSED]: "threshold_crossed",
  [EventKindMessage.EVENT_KIND_SOFT_CAP_EXCEEDED]: "soft_cap_exceeded",
  [EventKindMessage.EVENT_KIND_WALLET_EXHAUSTED]: "wallet_exhausted",
};

const eventKindValues = Object.fromEntries(
  Object.entries(eventKindNames)
    .filter(([, name]) => name !== "")
    .map(([value, name]) => [name, Number(value) as EventKindMessage]),
) as Record<DomainEventKind, EventKindMessage>;

/**
 * Requested kinds as the feed takes them: an unknown or UNSPECIFIED value becomes "", which the
 * feed's validation refuses naming the field `kinds`.
 */
export function eventKindsFromMessage(kinds: EventKindMessage[]): string[] {
  return kinds.map((kind) => eventKindNames[kind] ?? "");
}

/** An event of the feed, as `tollgate.v1.Event`. */
export function eventToMessage({ event, cursor }: FeedEvent): EventMessage {
  const b = event.balances;
  return {
    cursor,
    kind: eventKindValues[event.kind],
    walletId: event.walletId,
    rootId: event.rootId,
    sequence: BigInt(event.seq),
    charge: event.line ? chargeToMessage(event.line) : undefined,
    balances: {
      budget: int64(b.budget),
      spent: int64(b.spent),
      held: int64(b.held),
      allocated: int64(b.allocated),
      available: int64(b.available),
      totalSpent: int64(b.totalSpent),
    },
    time: new Date(event.ms),
    thresholdPercent: event.thresholdPercent ?? 0,
    holdId: event.holdId ?? "",
  };
}
