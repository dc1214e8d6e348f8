/** What redeeming a credential found. */
export type RedeemOutcome =
  /** First redemption: recorded. */
  | "redeemed"
  /** Redeemed before by the same request id: a retry of the same call. */
  | "replayed"
  /** Redeemed before by another request, or its call was answered already: refused. */
  | "taken";

/**
 * Single-use credentials, and what the gateway learned about a spend's call. Both are per tree
 * (a credential's id is a charge or hold id, which names its tree), so on Redis each is one
 * command on the tree's slot.
 */
export interface RedemptionStore {
  /**
   * Atomically marks credential `credentialId` (its charge or hold id) redeemed by `requestId`,
   * remembered until `expiresAtMs` (`nowMs` is the server's clock; after which the credential is refused as expired anyway).
   */
  redeem(
    credentialId: string,
    requestId: string,
    expiresAtMs: number,
    nowMs: number,
  ): Promise<RedeemOutcome>;
  /**
   * Marks credential `credentialId` as delivered: the call it paid for was answered, so no later
   * redemption (not even by the request that redeemed it) may forward it again. A no-op for an
   * id never redeemed, or forgotten.
   */
  markDelivered(credentialId: string): Promise<void>;
  /**
   * Records on spend line `lineId` that its upstream call failed (`failure`, e.g.
   * `upstream_status:503`). Only the first record counts; listing the line shows it
   * (`gatewayFailure`).
   */
  recordGatewayFailure(lineId: string, failure: string): Promise<void>;
  /**
   * The failure recorded for `id` (a spend line, or a hold the gateway voided), or undefined.
   * The gateway records why it voided a hold before voiding it, and reads it back when the same
   * call is retried, so a retry of a call whose hold is gone is refused rather than forwarded
   * unpaid.
   */
  gatewayFailureOf(id: string): Promise<string | undefined>;
}
