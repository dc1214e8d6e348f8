import type { RedeemOutcome, RedemptionStore } from "../../credentials/redemption-store.js";
import { treeOf } from "../../ledger/ids.js";
import type { RedisClient } from "./connect.js";
import { treeKey } from "./keys.js";
import type { StoreConnection } from "./store-connection.js";

/** The redemption record of a credential whose call was answered. */
const delivered = "\u0000delivered";

/**
 * Redemptions in Redis: `SET NX GET PX` sets the record and tells, in one command, whether (and by
 * whom) it was set before. Keys are in the credential's tree slot (keys.ts).
 */
export class RedisRedemptionStore implements RedemptionStore {
  constructor(
    private readonly connection: StoreConnection,
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {}

  async redeem(
    credentialId: string,
    requestId: string,
    expiresAtMs: number,
    nowMs: number,
  ): Promise<RedeemOutcome> {
    const key = treeKey(this.prefix, treeOf(credentialId), "redemption", credentialId);
    // Kept a little past expiry so clocks a second apart never reopen an expiring credential.
    const ttlMs = Math.max(1, expiresAtMs - nowMs) + 5_000;
    const previous = await this.connection.call(
      () =>
        this.redis.call("SET", key, requestId, "NX", "GET", "PX", String(ttlMs)) as Promise<
          string | null
        >,
    );
    if (previous === null) return "redeemed";
    return previous === requestId ? "replayed" : "taken";
  }

  async markDelivered(credentialId: string): Promise<void> {
    const key = treeKey(this.prefix, treeOf(credentialId), "redemption", credentialId);
    // No request id is ever this (request ids are printable ASCII), so every replay is "taken".
    await this.connection.call(() => this.redis.set(key, delivered, "KEEPTTL", "XX"));
  }

  async recordGatewayFailure(lineId: string, failure: string): Promise<void> {
    const key = treeKey(this.prefix, treeOf(lineId), "gatewayFailures");
    await this.connection.call(() => this.redis.hsetnx(key, lineId, failure));
  }

  async gatewayFailureOf(id: string): Promise<string | undefined> {
    const key = treeKey(this.prefix, treeOf(id), "gatewayFailures");
    const failure = await this.connection.call(() => this.redis.hget(key, id));
    return failure ?? undefined;
  }
}
