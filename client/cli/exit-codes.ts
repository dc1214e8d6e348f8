import { status } from "@grpc/grpc-js";
import { InvalidArgumentError } from "../errors/invalid-argument-error.js";
import { NotFoundError } from "../errors/not-found-error.js";
import { PermissionDeniedError } from "../errors/permission-denied-error.js";
import { TollgateError } from "../errors/tollgate-error.js";
import { UnauthenticatedError } from "../errors/unauthenticated-error.js";
import { UnavailableError } from "../errors/unavailable-error.js";

/**
 * The CLI's exit codes: a contract with the scripts that run it, so each is listed in
 * `tollgate --help` and the README, and never renumbered.
 */
export const ExitCode = {
  /** Done. */
  ok: 0,
  /** Anything not listed below: a bug, an unexpected answer, an internal server error. */
  unexpected: 1,
  /** Bad flags or arguments, refused before any call (or by the server: INVALID_ARGUMENT). */
  usage: 2,
  /**
   * No such wallet or hold (NOT_FOUND; also another project's wallet), or a `--after` cursor
   * older than the events retained (OUT_OF_RANGE, EVENTS_EXPIRED).
   */
  notFound: 3,
  /**
   * The ledger refused the operation and changed nothing: INSUFFICIENT_CREDITS, WALLET_CLOSED,
   * HOLD_EXPIRED, HOLD_ALREADY_RESOLVED (FAILED_PRECONDITION) and the per-tree limits
   * (RESOURCE_EXHAUSTED: TOO_MANY_OPEN_HOLDS, TOO_MANY_CHILDREN, TOO_MANY_BREAKDOWN_KEYS).
   */
  refused: 4,
  /**
   * No valid API key (UNAUTHENTICATED), or a key not allowed this call (PERMISSION_DENIED: an
   * agent key outside its scope).
   */
  unauthenticated: 5,
  /**
   * The server or its store did not answer (UNAVAILABLE, DEADLINE_EXCEEDED, STORE_UNAVAILABLE):
   * a mutation may have been applied; retry with the same --request-id.
   */
  unavailable: 6,
  /** `tollgate audit`: the hash chain or the totals do not verify. */
  auditFailed: 7,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** The exit-code table of `tollgate --help` (the README carries the same). */
export const exitCodeHelp = `Exit codes:
  0  ok
  1  unexpected error
  2  usage: bad flags or arguments (nothing was sent), or INVALID_ARGUMENT from the server
  3  not found: no such wallet (or another project's), or a --after cursor older than the
     events retained (EVENTS_EXPIRED)
  4  refused: INSUFFICIENT_CREDITS, WALLET_CLOSED, HOLD_EXPIRED, HOLD_ALREADY_RESOLVED, or a
     per-tree limit (TOO_MANY_OPEN_HOLDS, TOO_MANY_CHILDREN, TOO_MANY_BREAKDOWN_KEYS); nothing changed
  5  unauthenticated: missing or wrong API key, or a key not allowed this call
     (PERMISSION_DENIED: an agent key outside its wallet's subtree or services)
  6  unavailable: server or store down, or timed out (a mutation may have been applied:
     retry with the same --request-id)
  7  audit failed: the hash chain or the totals do not verify`;

/**
 * A failure the CLI itself reports (a usage error found after parsing, an audit that failed),
 * with its exit code and one-line message.
 */
export class CliError extends Error {
  override name = "CliError";
  constructor(
    message: string,
    readonly exitCode: ExitCodeValue,
  ) {
    super(message);
  }
}

/** A usage error: exit 2, before anything is sent. */
export function usageError(message: string): CliError {
  return new CliError(message, ExitCode.usage);
}

/** The exit code of any failure: by typed error class first, then by gRPC status code. */
export function exitCodeOf(error: unknown): ExitCodeValue {
  if (error instanceof CliError) return error.exitCode;
  if (!(error instanceof TollgateError)) return ExitCode.unexpected;
  if (error instanceof InvalidArgumentError) return ExitCode.usage;
  if (error instanceof NotFoundError) return ExitCode.notFound;
  if (error instanceof UnauthenticatedError) return ExitCode.unauthenticated;
  if (error instanceof PermissionDeniedError) return ExitCode.unauthenticated;
  if (error instanceof UnavailableError) return ExitCode.unavailable;
  switch (error.code) {
    case status.INVALID_ARGUMENT:
      return ExitCode.usage;
    case status.NOT_FOUND:
    case status.OUT_OF_RANGE:
      return ExitCode.notFound;
    case status.FAILED_PRECONDITION:
    case status.RESOURCE_EXHAUSTED:
      return ExitCode.refused;
    case status.UNAUTHENTICATED:
    case status.PERMISSION_DENIED:
      return ExitCode.unauthenticated;
    case status.UNAVAILABLE:
    case status.DEADLINE_EXCEEDED:
      return ExitCode.unavailable;
    default:
      return ExitCode.unexpected;
  }
}

/**
 * The one stderr line of a failure: `tollgate: <REASON>: <message>` for the server's typed
 * errors (the reason is what a script greps for), else `tollgate: <message>`. Newlines are
 * folded so the line stays one line.
 */
export function errorLine(error: unknown): string {
  let text: string;
  if (error instanceof TollgateError) {
    text = error.message.startsWith(error.reason)
      ? error.message
      : `${error.reason}: ${error.message}`;
  } else if (error instanceof Error) {
    text = error.message;
  } else {
    text = String(error);
  }
  return `tollgate: ${text.replace(/\s*\n\s*/g, " ").trim()}\n`;
}
