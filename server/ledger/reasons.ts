/**
 * Every reason a ledger operation can fail with. These strings travel to clients in
 * google.rpc.ErrorInfo.reason, so they are part of the public contract: add, never rename.
 */
export const Reason = {
  /** A request field is malformed or out of its limits; `field` names it. */
  InvalidArgument: "INVALID_ARGUMENT",
  /** A request id was reused with different parameters. */
  IdempotencyKeyReused: "IDEMPOTENCY_KEY_REUSED",
  /** The wallet does not exist or belongs to another project. */
  WalletNotFound: "WALLET_NOT_FOUND",
  /** The hold does not exist or belongs to another project. */
  HoldNotFound: "HOLD_NOT_FOUND",
  /** A hard cap (or a parent's available credits, for a carve-out) would be crossed. */
  InsufficientCredits: "INSUFFICIENT_CREDITS",
  /** The wallet (or an ancestor) is closed. */
  WalletClosed: "WALLET_CLOSED",
  /** The hold expired before capture or void. */
  HoldExpired: "HOLD_EXPIRED",
  /** The hold was already captured or voided. */
  HoldAlreadyResolved: "HOLD_ALREADY_RESOLVED",
  /** The call carried no valid API key. */
  Unauthenticated: "UNAUTHENTICATED",
  /** The store could not be reached; nothing was granted. */
  StoreUnavailable: "STORE_UNAVAILABLE",
  /** The request's bytes are not a protobuf encoding of the method's request message. */
  MalformedRequest: "MALFORMED_REQUEST",
} as const;

/** One of {@link Reason}'s values. */
export type ReasonCode = (typeof Reason)[keyof typeof Reason];
