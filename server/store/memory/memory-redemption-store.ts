import type { RedeemOutcome, RedemptionStore } from "../../credentials/redemption-store.js";

/** The embedded store's redemptions and gateway failures (same semantics as Redis's). */
export class MemoryRedemptionStore implements RedemptionStore {
  private readonly redeemed = new Map<string, { requestId: string; untilMs: number }>();
  /** Spend line id -> the gateway's failure record; read by the store when it lists lines. */
  readonly gatewayFailures = new Map<string, string>();

  async redeem(
    credentialId: string,
    requestId: string,
    expiresAtMs: number,
    nowMs: number,
  ): Promise<RedeemOutcome> {
    const now = nowMs;
    const previous = this.redeemed.get(credentialId);
    if (previous !== undefined && previous.untilMs > now) {
      return previous.requestId === requestId ? "replayed" : "taken";
    }
    if (this.redeemed.size > 10_000) this.forgetExpired(now);
    this.redeemed.set(credentialId, { requestId, untilMs: expiresAtMs + 5_000 });
    return "redeemed";
  }

  async markDelivered(credentialId: string): Promise<void> {
    const record = this.redeemed.get(credentialId);
    // No request id is ever this (request ids are printable ASCII), so every replay is "taken".
    if (record !== undefined) record.requestId = "\u0000delivered";
  }

  async recordGatewayFailure(lineId: string, failure: string): Promise<void> {
    if (!this.gatewayFailures.has(lineId)) this.gatewayFailures.set(lineId, failure);
  }

  async gatewayFailureOf(id: string): Promise<string | undefined> {
    return this.gatewayFailures.get(id);
  }

  private forgetExpired(now: number): void {
    for (const [id, record] of this.redeemed) if (record.untilMs <= now) this.redeemed.delete(id);
  }
}
