import { createHash, randomUUID } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import { isRequestId } from "../ledger/validation.js";

/**
 * The request id of a gateway call: the caller's `x-request-id`, else its `idempotency-key` (what
 * HTTP clients already send to make a retry safe), else a fresh UUID. It is what makes a retry
 * after a crash cost once: a credential redeemed again by the same id is a replay, a gateway
 * charge (agent-key mode) with the same id is answered from the ledger's idempotency record, and
 * the settlement's ids derive from it. A retry without an id of its own is a new call.
 */
export function gatewayRequestId(headers: IncomingHttpHeaders): { id: string; given: boolean } {
  for (const name of ["x-request-id", "idempotency-key"]) {
    const value = headers[name];
    if (typeof value === "string" && isRequestId(value)) return { id: value, given: true };
  }
  return { id: randomUUID(), given: false };
}

/**
 * A request id for a ledger step of the call (`capture`, `void`): the call's id with the step
 * appended, so a retried call replays its settlement instead of settling twice. Hashed when that
 * would pass the ledger's 128 characters.
 */
export function stepRequestId(requestId: string, step: string): string {
  const plain = `${requestId}/gw-${step}`;
  if (plain.length <= 128) return plain;
  return `gw-${createHash("sha256").update(requestId).digest("base64url")}/${step}`;
}

/**
 * The `Idempotency-Key` sent upstream: derived from the project and the charge or hold id, so every
 * attempt of one paid call (a retry after a gateway crash redeems the same credential, or replays
 * the same charge) carries the same key, and an upstream that honours the header runs it once.
 * Hashed: the key tells the upstream nothing about tollgate's ids.
 */
export function upstreamIdempotencyKey(project: string, chargeOrHoldId: string): string {
  const digest = createHash("sha256")
    .update("tollgate-gateway\0")
    .update(project)
    .update("\0")
    .update(chargeOrHoldId)
    .digest("base64url");
  return `tg-${digest.slice(0, 32)}`;
}
