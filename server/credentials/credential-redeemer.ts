import { CredentialError, type VerifiedCredential, verifyCredential } from "../../client/verify.js";
import type { AgentKeys } from "../agent-keys/agent-keys.js";
import { LedgerError } from "../ledger/ledger-error.js";
import { Reason } from "../ledger/reasons.js";
import type { CredentialIssuer } from "./credential-issuer.js";
import type { RedemptionStore } from "./redemption-store.js";

/** A redeemed credential: its claims, and whether this repeated an earlier redemption. */
export interface Redemption {
  claims: VerifiedCredential;
  /** True when the same request id redeemed it before (a retry of the same call). */
  replayed: boolean;
}

/**
 * Checks and redeems credentials: the one place the gateway and `RedeemCredential` share.
 * Verification is `tollgate/verify`'s (the same code a third-party verifier runs) against this
 * server's published keys; then the agent key that obtained the credential must not be revoked;
 * then the redemption itself is one atomic store step, remembered until the credential expires.
 */
export class CredentialRedeemer {
  constructor(
    private readonly issuer: CredentialIssuer,
    private readonly redemptions: RedemptionStore,
    private readonly agentKeys: AgentKeys,
    private readonly now: () => number,
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
      claims = await verifyCredential(token, {
        jwks: this.issuer.jwks(this.now()),
        service,
        now: new Date(this.now()),
      });
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
   * Verifies `token` for `service` and redeems it for `requestId`.
   *
   * @throws LedgerError as {@link verify}, or CREDENTIAL_ALREADY_REDEEMED when another request
   * redeemed it first.
   */
  async redeem(token: string, service: string, requestId: string): Promise<Redemption> {
    const claims = await this.verify(token, service);
    const outcome = await this.redemptions.redeem(
      claims.id,
      requestId,
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
}
