/** How a feed line is identified and summarised. */
import { type Event, EventKind } from "../../gen/es/tollgate/v1/event_service_pb.js";
import { isDebit } from "./event-kinds.js";
import { credits } from "./format.js";

/**
 * A line's identity: its tree and its position in that tree's log (gapless, from 1), which is
 * what makes "no line lost, none twice" checkable.
 */
export function lineId(event: Event): string {
  return `${event.rootId}/${event.sequence}`;
}

/** The line's money and subject in a few words, e.g. `−40 web_search`. */
export function summary(event: Event): string {
  const charge = event.charge;
  if (charge !== undefined) {
    const sign = isDebit(event.kind) ? "−" : "+";
    return [
      `${sign}${credits(charge.amount)}`,
      charge.service,
      charge.overBudget ? "over budget" : "",
    ]
      .filter((part) => part !== "")
      .join(" ");
  }
  const b = event.balances;
  switch (event.kind) {
    case EventKind.THRESHOLD_CROSSED:
      return `${event.thresholdPercent}% of budget spent (${credits(b?.totalSpent ?? 0n)} of ${credits(b?.budget ?? 0n)})`;
    case EventKind.SOFT_CAP_EXCEEDED:
      return `over its budget: available ${credits(b?.available ?? 0n)}`;
    case EventKind.WALLET_EXHAUSTED:
      return "available 0: its hard cap bites";
    case EventKind.WALLET_CREATED:
      return `budget ${credits(b?.budget ?? 0n)}`;
    case EventKind.HOLD_PLACED:
      return `held now ${credits(b?.held ?? 0n)}`;
    default:
      return "";
  }
}

/** The line's `agent` label, if its receipt line has one. */
export function agentOf(event: Event): string {
  return event.charge?.metadata.agent ?? "";
}
