import { CredentialError, type VerifiedCredential } from "../../client/verify.js";
import type { AgentKeys } from "../agent-keys/agent-keys.js";
import { LedgerError } from "../ledger/ledger-error.js";
import { Reason } from "../ledger/reasons.js";
import type { LedgerStore } from "../store/ledger-store.js";
import { type CredentialKeys, verifyServerCredential } from "./credential-verifier.js";
import type { RedemptionStore } from "./redemption-store.js";

/** A redeemed credential: its claims, and whether this repeated an earlier redemption. */
export interface Redemption {
  claims: VerifiedCredential;
  /** True when the same request id redeemed it before (a retry of the same call). */
  replayed: boolean;
}

/**
 * Checks and redeems credentials: the one place the gateway and `RedeemCredential` share.
 * Verification takes both kinds of credential, EdDSA (against the keys the JWKS publishes) and the
 * gateway's HS256 (against the MAC keys only this server holds), with the checks and refusals of
 * `tollgate/verify` but synchronous `node:crypto` (`verifyServerCredential`); then the agent key
 * that obtained the credential must not be revoked; then the redemption itself is one atomic
 * store step, remembered until the credential expires.
 */
export class CredentialRedeemer {
  constructor(
    private readonly keys: CredentialKeys,
    private readonly redemptions: RedemptionStore,
    private readonly agentKeys: AgentKeys,
    private readonly now: () => number,
    /** Where a hold credential's hold is read: it must still be open to be redeemed. */
    private readonly holds: Pick<LedgerStore, "holdInfo">,
  ) {}

  /**
   * Verifies `token` for `service` without redeeming it.
   *
   * @throws LedgerError CREDENTIAL_INVALID, CREDENTIAL_EXPIRED, CREDENTIAL_WRONG_SERVICE or
   * AGENT_KEY_REVOKED.
   */
  async verify(token: string, service: string): Promise<VerifiedCredential> {
    let claims: VerifiedCredential;
    try {
      claims = verifyServerCredential(token, service, this.keys, this.now());
    } catch (error) {
      if (error instanceof CredentialError) throw new LedgerError(error.reason, error.message);
      throw error;
    }
    if (claims.agentKeyId !== undefined) {
      const refusal = await this.agentKeys.refusalOf(claims.agentKeyId);
      if (refusal !== undefined) {
        throw new LedgerError(Reason.AgentKeyRevoked, `${refusal}: its credentials are void`, {
          key_id: claims.agentKeyId,
        });
      }
    }
    return claims;
  }

  /**
   * Verifies `token` for `service` and redeems it for `claimant` (the redeeming call's request id,
   * which the gateway extends with the call's method and path, so a retry must be the same call).
   * A hold credential is redeemed only while its hold is open and will stay open for
   * `holdMustLastMs` more (the gateway asks for the upstream's timeout, so the capture never finds
   * the hold gone).
   *
   * @throws LedgerError as {@link verify}; HOLD_ALREADY_RESOLVED or HOLD_EXPIRED for a hold that
   * is settled, expired or about to; CREDENTIAL_ALREADY_REDEEMED when another request redeemed it
   * first, or its call was answered already.
   */
  async redeem(
    token: string,
    service: string,
    claimant: string,
    options: { holdMustLastMs?: number } = {},
  ): Promise<Redemption> {
    const claims = await this.verify(token, service);
    if (claims.kind === "hold") await this.checkHold(claims.id, options.holdMustLastMs ?? 0);
    const outcome = await this.redemptions.redeem(
      claims.id,
      claimant,
      claims.expiresAt.getTime(),
      this.now(),
    );
    if (outcome === "taken") {
      throw new LedgerError(
        Reason.CredentialAlreadyRedeemed,
        "this credential was already redeemed: each credential pays for one call",
        { credential_id: claims.id },
      );
    }
    return { claims, replayed: outcome === "replayed" };
  }

  private async checkHold(holdId: string, mustLastMs: number): Promise<void> {
    const hold = await this.holds.holdInfo(holdId);
    if (hold === undefined) {
      throw new LedgerError(Reason.HoldNotFound, "the credential's hold does not exist", {
        hold_id: holdId,
      });
    }
    if (hold.status !== "open") {
      throw new LedgerError(
        Reason.HoldAlreadyResolved,
        `the credential's hold is ${hold.status}: it pays for nothing any more`,
        { hold_id: holdId },
      );
    }
    if (hold.expiresAtMs <= this.now() + mustLastMs) {
      throw new LedgerError(
        Reason.HoldExpired,
        mustLastMs > 0
          ? `the credential's hold expires before the upstream's timeout (${mustLastMs} ms): authorize with a longer ttl_seconds`
          : "the credential's hold has expired",
        { hold_id: holdId },
      );
    }
  }
}
