import type { GatewayContext } from "./gateway-context.js";
import type { Payment } from "./payment.js";
import { stepRequestId } from "./request-id.js";
import type { Settlement } from "./settlement.js";

/** What settling did: for the log line. */
export interface Settled {
  /** `captured`, `voided`, `charged` (a charge, nothing to do), `failure_recorded`, or `failed`. */
  outcome: "captured" | "voided" | "charged" | "failure_recorded" | "failed";
  /** Credits the call cost: the capture, or the charge. */
  cost: number;
  /** Why settling failed, when it did (a store error; a hold then expires by its TTL). */
  error: string | undefined;
}

/**
 * Carries out a {@link Settlement} on the ledger. The capture and void request ids derive from
 * the call's request id, so a retried call replays its settlement instead of settling twice. A
 * settlement that fails (the store is down, the hold expired meanwhile, a retry measured a
 * different cost than the first attempt's capture) is logged and left: an unsettled hold expires
 * by itself after its TTL, and the credits come back.
 */
export async function settlePayment(
  context: GatewayContext,
  payment: Payment,
  settlement: Settlement,
  requestId: string,
): Promise<Settled> {
  try {
    switch (settlement.action) {
      case "capture":
        await context.ledger.capture(payment.project, {
          holdId: payment.id,
          amount: settlement.amount,
          requestId: stepRequestId(requestId, "capture"),
        });
        context.metrics.paid(payment.service.name, "capture", settlement.amount);
        return { outcome: "captured", cost: settlement.amount, error: undefined };
      case "void":
        // Remembered first: a retry of this call (same request id) finds the hold gone and is
        // refused, instead of being forwarded with nothing left to capture.
        await context.redemptions.recordGatewayFailure(payment.id, `voided:${settlement.why}`);
        await context.ledger.void(payment.project, {
          holdId: payment.id,
          requestId: stepRequestId(requestId, "void"),
        });
        return { outcome: "voided", cost: 0, error: undefined };
      case "record_failure":
        await context.redemptions.recordGatewayFailure(payment.id, settlement.failure);
        context.metrics.paid(payment.service.name, "charge", payment.amount);
        return { outcome: "failure_recorded", cost: payment.amount, error: undefined };
      default:
        context.metrics.paid(payment.service.name, "charge", payment.amount);
        return { outcome: "charged", cost: payment.amount, error: undefined };
    }
  } catch (error) {
    const reason = (error as { reason?: string }).reason;
    return {
      outcome: "failed",
      cost: 0,
      error: reason ?? (error instanceof Error ? error.message : String(error)),
    };
  }
}
