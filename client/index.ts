/**
 * The typed tollgate client (`tollgate/client`): wallets with hard caps, spends that return a
 * credential, holds, receipts, over grpc-js unary calls or one multiplexed SpendStream.
 * Amounts accept a safe-integer `number` or a `bigint`; every figure returned is a `bigint`.
 */

export type {
  AgentKey,
  AgentKeys,
  CreateAgentKeyInput,
  CreatedAgentKey,
  ListAgentKeysInput,
} from "./agent-keys.js";
export type { Amount } from "./amount.js";
export type { AuditReport, ChainBreak, TotalMismatch } from "./audit.js";
export type { PaidService } from "./catalog.js";
export { createClient, type ProjectEvents, type TollgateClient } from "./client.js";
export type {
  Credentials,
  JwkSet,
  PublicJwk,
  RedeemedClaims,
  RedeemOptions,
  Redemption,
  SigningKeys,
} from "./credentials.js";
export { HoldAlreadyResolvedError } from "./errors/hold-already-resolved-error.js";
export { HoldExpiredError } from "./errors/hold-expired-error.js";
export { IdempotencyKeyReusedError } from "./errors/idempotency-key-reused-error.js";
export { InsufficientCreditsError } from "./errors/insufficient-credits-error.js";
export { InvalidArgumentError } from "./errors/invalid-argument-error.js";
export { LimitExceededError } from "./errors/limit-exceeded-error.js";
export { NotFoundError } from "./errors/not-found-error.js";
export { PermissionDeniedError } from "./errors/permission-denied-error.js";
export { TollgateError, type TollgateErrorInit } from "./errors/tollgate-error.js";
export { UnauthenticatedError } from "./errors/unauthenticated-error.js";
export { UnavailableError } from "./errors/unavailable-error.js";
export { WalletClosedError } from "./errors/wallet-closed-error.js";
export {
  alertKinds,
  type Balances,
  type EventKind,
  type EventWatch,
  type ListEventsOptions,
  type WalletEvent,
  type WatchOptions,
} from "./events.js";
export type { Gateway, GatewayCallOptions } from "./gateway.js";
export { canonicalLine, type HashedLine, lineHash } from "./line-hash.js";
export type { CallOptions, ClientOptions, Mode, RetryOptions } from "./options.js";
export type { BreakdownBy, ReceiptPageInput } from "./receipt-pages.js";
export type { SpendStream } from "./spend-stream.js";
export type {
  Authorization,
  AuthorizeOptions,
  AuthorizeResult,
  Breakdown,
  CaptureOptions,
  CaptureResult,
  Charge,
  ChargeKind,
  ChildReceipt,
  Hold,
  HoldStatus,
  Receipt,
  SpendOptions,
  SpendResult,
  VoidResult,
} from "./types.js";
export { type CreateWalletInput, type ListChargesInput, Wallet } from "./wallet.js";
export type { ListWalletsInput, Wallets } from "./wallets.js";
