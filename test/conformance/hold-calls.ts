import type { Ledger } from "../../server/ledger/ledger.js";
import { project, rid } from "./harness.js";

/** Hold calls with the defaults the hold cases share (service "llm", a fresh request id). */

export function authorize(
  ledger: Ledger,
  walletId: string,
  amount: number,
  options: { ttlSeconds?: number; service?: string; metadata?: Record<string, string> } = {},
) {
  return ledger.authorize(project, {
    walletId,
    amount,
    service: options.service ?? "llm",
    metadata: options.metadata,
    ttlSeconds: options.ttlSeconds,
    requestId: rid("auth"),
  });
}

export function capture(
  ledger: Ledger,
  holdId: string,
  amount: number,
  metadata?: Record<string, string>,
) {
  return ledger.capture(project, { holdId, amount, metadata, requestId: rid("capture") });
}

export function voidHold(ledger: Ledger, holdId: string) {
  return ledger.void(project, { holdId, requestId: rid("void") });
}
