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
  /** Authorizing would pass the tree's limit on open holds (`limit`, `wallet_id`). */
  TooManyOpenHolds: "TOO_MANY_OPEN_HOLDS",
  /** Carving out would pass the parent's limit on children (`limit`, `wallet_id`). */
  TooManyChildren: "TOO_MANY_CHILDREN",
  /**
   * A debit would add a service or agent name past the tree's limit on distinct breakdown keys
   * (`limit`, `wallet_id`, `dimension`).
   */
  TooManyBreakdownKeys: "TOO_MANY_BREAKDOWN_KEYS",
  /** The call carried no valid API key. */
  Unauthenticated: "UNAUTHENTICATED",
  /** The store could not be reached; nothing was granted. */
  StoreUnavailable: "STORE_UNAVAILABLE",
  /** The request's bytes are not a protobuf encoding of the method's request message. */
  MalformedRequest: "MALFORMED_REQUEST",
  /** An event cursor points before the oldest event retained (`root_id`): events were dropped. */
  EventsExpired: "EVENTS_EXPIRED",
  /** A watcher stopped reading while events waited; resume after `cursor`. */
  WatcherTooSlow: "WATCHER_TOO_SLOW",
  /** The project has as many open watchers as this server allows (`limit`). */
  TooManyWatchers: "TOO_MANY_WATCHERS",
  /** An agent key called a method agent keys may not call (`method`). */
  AgentKeyNotAllowed: "AGENT_KEY_NOT_ALLOWED",
  /** An agent key named a wallet or hold outside its subtree (`field`). */
  OutsideAgentScope: "OUTSIDE_AGENT_SCOPE",
  /** An agent key tried to pay for a service it is not bound to (`service`). */
  ServiceNotAllowed: "SERVICE_NOT_ALLOWED",
  /** No agent key of the caller's project has this id (`key_id`). */
  AgentKeyNotFound: "AGENT_KEY_NOT_FOUND",
  /** The catalog prices this service: the amount must be 0 or the catalog's (`price`). */
  PriceSetByCatalog: "PRICE_SET_BY_CATALOG",
  /** A credential is malformed, tampered, or signed by a key tollgate does not publish. */
  CredentialInvalid: "CREDENTIAL_INVALID",
  /** A credential is past its expiry. */
  CredentialExpired: "CREDENTIAL_EXPIRED",
  /** A credential was presented to a service other than its audience. */
  CredentialWrongService: "CREDENTIAL_WRONG_SERVICE",
  /** A credential was already redeemed by another request. */
  CredentialAlreadyRedeemed: "CREDENTIAL_ALREADY_REDEEMED",
  /** The agent key that obtained a credential has been revoked. */
  AgentKeyRevoked: "AGENT_KEY_REVOKED",
  /** A secret of an agent key minted before the signing key changed cannot be derived again. */
  AgentKeySecretLost: "AGENT_KEY_SECRET_LOST",
} as const;

/** One of {@link Reason}'s values. */
export type ReasonCode = (typeof Reason)[keyof typeof Reason];
