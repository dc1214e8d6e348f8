import { createHash, randomUUID } from "node:crypto";
import { inputFingerprint } from "./fingerprint.js";

/** The ledger operations one tool call may send, each under its own request id. */
export type Operation = "authorize" | "capture" | "void" | "spend";

/**
 * Longest base kept as is. The ledger accepts 128 printable ASCII characters; the suffixes
 * (`#<attempt>` and `:authorize`) need at most 14 of them.
 */
const maxBaseChars = 100;
const printable = new RegExp(`^[\\x21-\\x7e]{1,${maxBaseChars}}$`);

/**
 * The request-id base of one tool call: `custom(input, toolCallId)` when given, else
 * `<tool>:<toolCallId>:<fingerprint>` when the framework names the call, else a random UUID
 * (nothing to deduplicate against). A framework retry of a named call resends the same input, so
 * it replays the same ledger operations instead of charging again; the 16-hex-digit
 * {@link inputFingerprint} keeps a reused call id with another input (models reuse ids like
 * `call_0` across turns) from replaying an earlier call's charge and running for free.
 * A base the ledger would refuse (spaces, non-ASCII, over 100 characters) becomes `sha256:<hex>`
 * of itself, which keeps it deterministic.
 */
export function requestIdBase<I>(
  toolName: string,
  input: I,
  toolCallId: string | undefined,
  custom: ((input: I, toolCallId?: string) => string) | undefined,
): string {
  let base: string;
  if (custom !== undefined) base = custom(input, toolCallId);
  else if (toolCallId !== undefined && toolCallId !== "") {
    base = `${toolName}:${toolCallId}:${inputFingerprint(input, toolName)}`;
  } else return randomUUID();
  return printable.test(base) ? base : `sha256:${createHash("sha256").update(base).digest("hex")}`;
}

/**
 * The request id of one operation of one attempt. Attempt 1 has no marker, so the ids are
 * exactly `<base>:authorize` etc.; a retry after a voided attempt uses `<base>#<n>:...`.
 */
export function requestIdFor(base: string, attempt: number, operation: Operation): string {
  return attempt === 1 ? `${base}:${operation}` : `${base}#${attempt}:${operation}`;
}
