import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import { status } from "@grpc/grpc-js";
import type { ReasonCode } from "../ledger/reasons.js";
import type { Logger } from "../logger.js";
import type { Transport } from "../metrics/metrics.js";

/**
 * Ids (request, wallet, hold) are cut to this many characters in log lines, so one call cannot
 * flood the logs with a 60 kB id. 128 is the longest request id the ledger accepts, and far above
 * any wallet or hold id it issues, so a valid id is always logged whole.
 */
const idLogMaxChars = 128;

/** The fields of one call (or one streamed operation) line. */
export interface CallLine {
  /** `Spend`, or `SpendStream.Spend` for an operation on a stream. */
  method: string;
  /** `grpc`, or the HTTP face's `connect` or `grpc-web`. */
  transport: Transport;
  requestId: string;
  project: string | undefined;
  walletId: string | undefined;
  holdId: string | undefined;
  latencyMs: number;
  /** A server stream's line: how many messages it sent. */
  messages?: number;
  /** A request the HTTP face refused before any handler ran: the HTTP status it got. */
  httpStatus?: number;
}

/**
 * How a call ended, for its line. `failure` is the original error, logged only when unexpected.
 * `code` is a gRPC status, or for a request the HTTP face refused before any handler ran (wrong
 * content type, ...) the name of that refusal (`UNSUPPORTED_MEDIA_TYPE`, see
 * server/http/request-refusals.ts).
 */
export interface CallOutcome {
  code: status | string;
  reason: ReasonCode | undefined;
  failure?: unknown;
}

/**
 * Writes a call's line: at `okLevel` when it succeeded or failed for a reason the caller caused
 * (an unary call logs at `info`, a streamed operation at `debug` so a busy stream does not flood
 * the log), at `warn` with the error when the store was unavailable, and at `error` with the stack
 * when it failed unexpectedly (the client only saw INTERNAL).
 */
export function logCall(
  logger: Logger,
  okLevel: "info" | "debug",
  line: CallLine,
  outcome: CallOutcome,
): void {
  const entry = { ...line, code: codeName(outcome.code), reason: outcome.reason };
  if (outcome.code === status.INTERNAL) logger.error({ ...entry, err: outcome.failure }, "rpc");
  else if (outcome.code === status.UNAVAILABLE)
    logger.warn({ ...entry, err: outcome.failure }, "rpc");
  else logger[okLevel](entry, "rpc");
}

/** A status's name as logged and counted (`OK`, `FAILED_PRECONDITION`, ...). */
export function codeName(code: status | string): string {
  return typeof code === "string" ? code : (status[code] ?? String(code));
}

/**
 * The request's own `request_id`, made printable: grpc-js only accepts printable ASCII in a
 * trailer, so an id the ledger will refuse (say, non-ASCII) is percent-encoded here so the refusal
 * still reaches the client. Undefined when the request has none.
 */
export function ownRequestIdOf(request: unknown): string | undefined {
  const own = stringField(request, "requestId");
  if (own === undefined) return undefined;
  const printable = /^[\x20-\x7e]*$/.test(own) ? own : encodeURIComponent(own);
  return idForLog(printable);
}

/** The request's own `request_id` (see {@link ownRequestIdOf}), else `x-request-id`, else a UUID. */
export function requestIdOf(request: unknown, header: unknown): string {
  const own = ownRequestIdOf(request);
  if (own !== undefined) return own;
  if (typeof header === "string" && header !== "") return idForLog(header);
  return randomUUID();
}

/**
 * The wallet a call was about (cut like every logged id): the request's `wallet_id`; else the wallet the response shows
 * (a created wallet, a captured or voided hold's wallet); else the parent a list or create named.
 */
export function walletIdOf(request: unknown, response: unknown): string | undefined {
  const id =
    stringField(request, "walletId") ??
    stringField(field(response, "wallet"), "id") ??
    stringField(field(response, "hold"), "walletId") ??
    stringField(request, "parentId");
  return id === undefined ? undefined : idForLog(id);
}

/** The request's `hold_id`, if it has one (cut like every logged id). */
export function holdIdOf(request: unknown): string | undefined {
  const id = stringField(request, "holdId");
  return id === undefined ? undefined : idForLog(id);
}

/** Milliseconds since `startedMs` (a `performance.now()` reading), to 0.01 ms. */
export function elapsedMs(startedMs: number): number {
  return Math.round((performance.now() - startedMs) * 100) / 100;
}

/** An id as logged: at most {@link idLogMaxChars} characters. */
function idForLog(id: string): string {
  return id.slice(0, idLogMaxChars);
}

function field(value: unknown, key: string): unknown {
  return typeof value === "object" && value !== null
    ? (value as Record<string, unknown>)[key]
    : undefined;
}

function stringField(value: unknown, key: string): string | undefined {
  const v = field(value, key);
  return typeof v === "string" && v !== "" ? v : undefined;
}
