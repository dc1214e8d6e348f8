/** What each event kind is called on the page, and which kinds are alerts. */
import { EventKind } from "../../gen/es/tollgate/v1/event_service_pb.js";

const labels: Record<EventKind, string> = {
  [EventKind.UNSPECIFIED]: "unknown",
  [EventKind.SPEND]: "spend",
  [EventKind.CAPTURE]: "capture",
  [EventKind.VOID]: "void",
  [EventKind.EXPIRE]: "expiry",
  [EventKind.REFILL]: "top-up",
  [EventKind.ALLOCATION]: "allocation",
  [EventKind.WALLET_CREATED]: "wallet created",
  [EventKind.WALLET_CLOSED]: "wallet closed",
  [EventKind.HOLD_PLACED]: "hold placed",
  [EventKind.THRESHOLD_CROSSED]: "threshold crossed",
  [EventKind.SOFT_CAP_EXCEEDED]: "soft cap exceeded",
  [EventKind.WALLET_EXHAUSTED]: "wallet exhausted",
};

export function kindLabel(kind: EventKind): string {
  return labels[kind] ?? `kind ${kind}`;
}

/** The budget alerts (docs/events.md#budget-alerts), which the feed highlights. */
export function isAlert(kind: EventKind): boolean {
  return (
    kind === EventKind.THRESHOLD_CROSSED ||
    kind === EventKind.SOFT_CAP_EXCEEDED ||
    kind === EventKind.WALLET_EXHAUSTED
  );
}

/** Kinds whose line debits the wallet, shown with a minus sign. */
export function isDebit(kind: EventKind): boolean {
  return kind === EventKind.SPEND || kind === EventKind.CAPTURE;
}
