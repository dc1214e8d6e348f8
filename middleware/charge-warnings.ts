import { TollgateError } from "../client/index.js";

/**
 * Warns that a call runs without being charged because the ledger replayed an earlier charge of
 * the same request id: a retry of a call that already paid (correct: charged once), or a custom
 * `requestId` that maps two different calls to one id (a bug that gives work away). The code is
 * `TOLLGATE_REPLAYED_CHARGE`, so a process can count these free runs or alert on them.
 */
export function warnReplayedCharge(tool: string, requestId: string, what: string): void {
  process.emitWarning(
    `${tool} runs without a new charge: request id ${requestId} replayed ${what}`,
    { code: "TOLLGATE_REPLAYED_CHARGE" },
  );
}

/** Warns that a hold could not be voided; the ledger releases it when it expires. */
export function warnVoidFailed(holdId: string, error: unknown, expiresAt?: Date): void {
  const until = expiresAt === undefined ? "" : ` at ${expiresAt.toISOString()}`;
  process.emitWarning(
    `voiding hold ${holdId} failed (${reasonOf(error)}); it is released when it expires${until}`,
    { code: "TOLLGATE_VOID_FAILED" },
  );
}

/** The ledger's reason for a TollgateError, else the error's text. */
function reasonOf(error: unknown): string {
  return error instanceof TollgateError ? error.reason : String(error);
}
