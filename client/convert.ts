import { status } from "@grpc/grpc-js";
import {
  ChargeKind as ChargeKindEnum,
  type Charge as ChargeMessage,
} from "../gen/ts-proto/tollgate/v1/charge.js";
import type {
  ChildReceipt as ChildReceiptMessage,
  ReceiptBreakdown,
  Receipt as ReceiptMessage,
} from "../gen/ts-proto/tollgate/v1/receipt_service.js";
import {
  type Hold as HoldMessage,
  HoldStatus as HoldStatusEnum,
  WalletStatus,
} from "../gen/ts-proto/tollgate/v1/wallet.js";
import type {
  AuthorizeResponse,
  CaptureResponse,
  SpendResponse,
  VoidResponse,
} from "../gen/ts-proto/tollgate/v1/wallet_service.js";
import { TollgateError } from "./errors/tollgate-error.js";
import type {
  AuthorizeResult,
  Breakdown,
  CaptureResult,
  Charge,
  ChargeKind,
  ChildReceipt,
  Hold,
  HoldStatus,
  Receipt,
  SpendResult,
  VoidResult,
} from "./types.js";

/*
 * Generated messages -> the public types. The generated code stays behind this file, so a
 * caller never sees a proto enum, an optional sub-message or a missing timestamp.
 */

const chargeKinds: Partial<Record<ChargeKindEnum, ChargeKind>> = {
  [ChargeKindEnum.CHARGE_KIND_SPEND]: "SPEND",
  [ChargeKindEnum.CHARGE_KIND_CAPTURE]: "CAPTURE",
  [ChargeKindEnum.CHARGE_KIND_VOID]: "VOID",
  [ChargeKindEnum.CHARGE_KIND_EXPIRE]: "EXPIRE",
  [ChargeKindEnum.CHARGE_KIND_REFILL]: "REFILL",
  [ChargeKindEnum.CHARGE_KIND_ALLOCATION]: "ALLOCATION",
};

const holdStatuses: Partial<Record<HoldStatusEnum, HoldStatus>> = {
  [HoldStatusEnum.HOLD_STATUS_OPEN]: "OPEN",
  [HoldStatusEnum.HOLD_STATUS_CAPTURED]: "CAPTURED",
  [HoldStatusEnum.HOLD_STATUS_VOIDED]: "VOIDED",
  [HoldStatusEnum.HOLD_STATUS_EXPIRED]: "EXPIRED",
};

/**
 * A field the server always sets (a sub-message, or a timestamp: proto3 makes both optional), or
 * an INTERNAL error: a response without it is a server bug (or a server newer than this client),
 * and guessing a value would misreport money.
 */
export function required<T>(value: T | undefined, what: string): T {
  if (value === undefined) {
    throw new TollgateError(`malformed response: no ${what}`, {
      code: status.INTERNAL,
      reason: "MALFORMED_RESPONSE",
    });
  }
  return value;
}

/** A receipt line as the public {@link Charge}: a known kind and a creation time, or INTERNAL. */
export function toCharge(message: ChargeMessage): Charge {
  return {
    id: message.id,
    walletId: message.walletId,
    kind: required(chargeKinds[message.kind], `known charge kind (got ${message.kind})`),
    amount: message.amount,
    service: message.service,
    metadata: { ...message.metadata },
    overBudget: message.overBudget,
    holdId: message.holdId,
    requestId: message.requestId,
    createdAt: required(message.createdAt, "charge.created_at"),
    hash: message.hash,
    prevHash: message.prevHash,
  };
}

/** A hold as the public {@link Hold}: a known status and both timestamps, or INTERNAL. */
function toHold(message: HoldMessage): Hold {
  return {
    id: message.id,
    walletId: message.walletId,
    amount: message.amount,
    service: message.service,
    metadata: { ...message.metadata },
    status: required(holdStatuses[message.status], `known hold status (got ${message.status})`),
    capturedAmount: message.capturedAmount,
    createdAt: required(message.createdAt, "hold.created_at"),
    expiresAt: required(message.expiresAt, "hold.expires_at"),
  };
}

/** A Spend answer (unary or streamed) as the {@link SpendResult} a caller gets. */
export function toSpendResult(response: SpendResponse): SpendResult {
  return {
    charge: toCharge(required(response.charge, "charge")),
    remaining: response.remaining,
    credential: response.credential,
    credentialExpiresAt: required(response.credentialExpiresAt, "credential_expires_at"),
  };
}

/** An Authorize answer (unary or streamed) as the {@link AuthorizeResult} a caller gets. */
export function toAuthorizeResult(response: AuthorizeResponse): AuthorizeResult {
  return {
    hold: toHold(required(response.hold, "hold")),
    remaining: response.remaining,
    credential: response.credential,
    credentialExpiresAt: required(response.credentialExpiresAt, "credential_expires_at"),
  };
}

/** A Capture answer (unary or streamed): the CAPTURE line, the resolved hold, the balance. */
export function toCaptureResult(response: CaptureResponse): CaptureResult {
  return {
    charge: toCharge(required(response.charge, "charge")),
    hold: toHold(required(response.hold, "hold")),
    remaining: response.remaining,
  };
}

/** A Void answer (unary or streamed): the released hold and the balance. */
export function toVoidResult(response: VoidResponse): VoidResult {
  return { hold: toHold(required(response.hold, "hold")), remaining: response.remaining };
}

/** One breakdown row. */
export function toBreakdown(message: ReceiptBreakdown): Breakdown {
  return { key: message.key, credits: message.credits, callCount: message.callCount };
}

/** One child's summary in its parent's receipt. */
export function toChildReceipt(message: ChildReceiptMessage): ChildReceipt {
  return {
    walletId: message.walletId,
    name: message.name,
    budget: message.budget,
    totalCredits: message.totalCredits,
    callCount: message.callCount,
    available: message.available,
    closed: message.status === WalletStatus.WALLET_STATUS_CLOSED,
    exhausted: message.exhausted,
  };
}

/** A GetReceipt answer as the public {@link Receipt}, with its breakdowns and children. */
export function toReceipt(message: ReceiptMessage): Receipt {
  return {
    walletId: message.walletId,
    name: message.name,
    totalCredits: message.totalCredits,
    callCount: message.callCount,
    ownCredits: message.ownCredits,
    ownCallCount: message.ownCallCount,
    byService: message.byService.map(toBreakdown),
    byServiceOther: toBreakdown(required(message.byServiceOther, "by_service_other")),
    serviceKeyCount: message.serviceKeyCount,
    byAgent: message.byAgent.map(toBreakdown),
    byAgentOther: toBreakdown(required(message.byAgentOther, "by_agent_other")),
    agentKeyCount: message.agentKeyCount,
    refillCredits: message.refillCredits,
    refillCount: message.refillCount,
    voidedHoldCredits: message.voidedHoldCredits,
    voidedHoldCount: message.voidedHoldCount,
    overBudgetCount: message.overBudgetCount,
    budget: message.budget,
    available: message.available,
    children: message.children.map(toChildReceipt),
    childCount: message.childCount,
  };
}
