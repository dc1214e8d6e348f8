import type { CatalogService } from "../catalog/catalog.js";
import type { MeterReading } from "./usage-meter.js";

/** How a forwarded call ended, as settlement sees it. */
export type CallEnd =
  /** No answer: the upstream could not be reached, or sent no headers in time. */
  | { kind: "unreachable" | "timeout" }
  /** The agent went away before the upstream answered. */
  | { kind: "agent_gone_before_answer" }
  /** The request body grew past the service's limit while it streamed: answered 413. */
  | { kind: "request_too_large" }
  /** The upstream answered in an encoding the gateway cannot scrub: answered 502. */
  | { kind: "bad_answer" }
  /** The upstream answered `status`; `body` says how its body's relay ended. */
  | {
      kind: "answered";
      status: number;
      body: "complete" | "agent_cancelled" | "upstream_cut" | "upstream_timeout";
      reading: MeterReading | undefined;
    };

/** What to do with the call's hold or charge. */
export type Settlement =
  | { action: "capture"; amount: number; note?: string }
  | { action: "void"; why: string }
  /** A charge: record why its call failed on its line (Charge.gateway_failure). */
  | { action: "record_failure"; failure: string }
  | { action: "none" };

/**
 * The settlement policy (docs/credentials.md#settlement), one pure function so it is read and
 * tested in one place.
 *
 * A hold pays for what the upstream delivered:
 * - 2xx: captured at the cost: the fixed price; the header's credits; the JSON usage times the
 *   rate; the events or lines relayed times the rate. Capped at the hold. A cost of 0 voids.
 *   A JSON or header cost the answer does not state is captured at the hold (the upstream may bill
 *   for it; the gateway cannot prove it did not).
 * - 2xx cut short: by the agent: per-unit meters capture what was relayed; fixed and header
 *   prices are owed in full (the upstream answered); a JSON cost sits in the unread body, so the
 *   hold is captured. By the upstream (reset, body timeout): per-unit meters capture what was
 *   relayed, the rest void (the upstream did not deliver).
 * - 3xx, 4xx, 5xx, no answer, timeout, an answer the gateway cannot relay (an unknown content
 *   encoding), the agent gone before the answer, a body over the limit: voided. A 4xx is the
 *   request's fault, but the upstream delivered nothing to bill; a 3xx is not followed, so
 *   nothing was delivered either.
 *
 * A charge (a spend credential, or a fixed price in agent-key mode) is final: it is never
 * refunded by the gateway, but a failure of the upstream (no answer, timeout, 5xx, a body cut by
 * the upstream) is recorded on its line, for the operator and a refund by hand.
 */
export function settlementFor(
  kind: "charge" | "hold",
  service: CatalogService,
  held: number,
  end: CallEnd,
): Settlement {
  if (kind === "charge") return chargeSettlement(end);
  if (end.kind !== "answered") return { action: "void", why: end.kind };
  if (end.status < 200 || end.status >= 300) {
    return { action: "void", why: `upstream_status:${end.status}` };
  }
  const price = service.price;
  const perUnit =
    price.kind === "metered" && (price.meter.kind === "sse-events" || price.meter.kind === "lines");
  if (end.body === "upstream_cut" || end.body === "upstream_timeout") {
    if (!perUnit) return { action: "void", why: end.body };
    return capture(costOf(end.reading, held), held, "cut short by the upstream");
  }
  if (price.kind === "fixed") return capture(price.credits, held);
  if (price.meter.kind === "json" && end.body === "agent_cancelled") {
    return capture(held, held, "cancelled before its usage could be read");
  }
  const reading = end.reading;
  if (reading === undefined || reading.kind === "unreadable") {
    return capture(held, held, `cost unreadable: ${reading?.why ?? "no meter"}`);
  }
  return capture(reading.credits, held);
}

function chargeSettlement(end: CallEnd): Settlement {
  switch (end.kind) {
    case "unreachable":
      return { action: "record_failure", failure: "upstream_unreachable" };
    case "timeout":
      return { action: "record_failure", failure: "upstream_timeout" };
    case "bad_answer":
      return { action: "record_failure", failure: "upstream_bad_answer" };
    case "agent_gone_before_answer":
    case "request_too_large":
      return { action: "none" };
    default:
      if (end.status >= 500) {
        return { action: "record_failure", failure: `upstream_status:${end.status}` };
      }
      if (end.body === "upstream_timeout") {
        return { action: "record_failure", failure: "upstream_timeout" };
      }
      if (end.body === "upstream_cut") return { action: "record_failure", failure: "upstream_cut" };
      return { action: "none" };
  }
}

function costOf(reading: MeterReading | undefined, held: number): number {
  return reading?.kind === "cost" ? reading.credits : held;
}

function capture(cost: number, held: number, note?: string): Settlement {
  const amount = Math.min(cost, held);
  if (amount <= 0) return { action: "void", why: "cost_zero" };
  return note === undefined ? { action: "capture", amount } : { action: "capture", amount, note };
}
